// Certificates for a throw-away control plane: a CA, the API server's serving certificate, an admin
// client certificate (group system:masters), the API server's client certificate for kubelets and
// the service-account signing key. The node (node.ts) issues its own with issueCertificate. Made with the
// openssl command line, which every supported machine has.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

export interface ControlPlanePki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  /** The API server's client certificate towards kubelets (logs, exec, port-forward). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** Issues `<dir>/<name>.crt` and `.key`, signed by the CA in `dir` (ca.crt, ca.key). */
export function issueCertificate(dir: string, name: string, subject: string, extensions: string): void {
  issue(dir, name, subject, extensions);
}

function issue(dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]),
  );
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

export function createControlPlanePki(dir: string): ControlPlanePki {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=kpo-testenv-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  issue(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n",
  );
  issue(
    dir,
    "admin",
    "/O=system:masters/CN=kpo-testenv-admin",
    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n",
  );
  issue(
    dir,
    "apiserver-kubelet-client",
    "/O=system:masters/CN=kube-apiserver-kubelet-client",
    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n",
  );
  openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  const at = (f: string) => path.join(dir, f);
  return {
    caCert: at("ca.crt"),
    caKey: at("ca.key"),
    servingCert: at("apiserver.crt"),
    servingKey: at("apiserver.key"),
    adminCert: at("admin.crt"),
    adminKey: at("admin.key"),
    kubeletClientCert: at("apiserver-kubelet-client.crt"),
    kubeletClientKey: at("apiserver-kubelet-client.key"),
    serviceAccountKey: at("sa.key"),
    serviceAccountPub: at("sa.pub"),
  };
}
