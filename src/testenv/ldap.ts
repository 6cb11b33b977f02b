// A real OpenLDAP server for the LDAP user federation tests: Debian's slapd (pinned in
// tools.versions, installed by scripts/tools.sh) run as a private process with a config file of its
// own (`slapd -f`), an mdb database in its working directory seeded offline with slapadd, bound to
// 127.0.0.1 on a free port. Nothing under /etc/ldap is read except the stock schema files, and no
// system-wide slapd service is involved, so parallel environments and a second run never meet.
//
// Two identities: the directory manager (rootdn, password known only to this module, used to
// change entries) and a bind account (`cn=admin,<base>`), an ordinary entry with a userPassword that
// Keycloak binds as; changing its password really invalidates the old one.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import { startProcess, waitUntilReady } from "./processes.js";
import { requireTool } from "./tools.js";

const run = promisify(execFile);

export interface LdapUser {
  uid: string;
  password: string;
  givenName?: string;
  sn?: string;
  mail?: string;
}

export interface LdapGroup {
  cn: string;
  /** uids of the members (groupOfNames needs at least one). */
  members: string[];
}

export interface LdapOptions {
  dir: string;
  /** Default `dc=kpo,dc=test`. */
  baseDn?: string;
  users: LdapUser[];
  groups: LdapGroup[];
  startTimeoutMs?: number;
}

export interface LdapServer {
  /** ldap://127.0.0.1:<port> */
  url: string;
  baseDn: string;
  /** `ou=people,<base>`: users are `uid=<uid>,ou=people,<base>`. */
  usersDn: string;
  /** `ou=groups,<base>`: groups are `cn=<cn>,ou=groups,<base>`. */
  groupsDn: string;
  /** The account Keycloak binds as. */
  bindDn: string;
  bindPassword: string;
  logFile: string;
  /** Replaces an entry's password (as the directory manager). */
  setPassword(dn: string, password: string): Promise<void>;
  /** Whether a simple bind as `dn` with `password` succeeds. */
  canBind(dn: string, password: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** `{SSHA}` as slapd checks it: base64(sha1(password + salt) + salt). */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash("sha1").update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
}

function firstRdnValue(dn: string): string {
  return dn.split(",")[0]?.split("=")[1] ?? dn;
}

function seedLdif(baseDn: string, bindDn: string, bindPassword: string, o: LdapOptions): string {
  const usersDn = `ou=people,${baseDn}`;
  const groupsDn = `ou=groups,${baseDn}`;
  const entries = [
    [
      `dn: ${baseDn}`,
      "objectClass: dcObject",
      "objectClass: organization",
      `dc: ${firstRdnValue(baseDn)}`,
      "o: kpo test",
    ],
    [`dn: ${usersDn}`, "objectClass: organizationalUnit", "ou: people"],
    [`dn: ${groupsDn}`, "objectClass: organizationalUnit", "ou: groups"],
    [
      `dn: ${bindDn}`,
      "objectClass: organizationalRole",
      "objectClass: simpleSecurityObject",
      `cn: ${firstRdnValue(bindDn)}`,
      `userPassword: ${ssha(bindPassword)}`,
    ],
    ...o.users.map((u) => [
      `dn: uid=${u.uid},${usersDn}`,
      "objectClass: inetOrgPerson",
      `uid: ${u.uid}`,
      `cn: ${u.givenName ?? u.uid} ${u.sn ?? u.uid}`,
      `sn: ${u.sn ?? u.uid}`,
      ...(u.givenName ? [`givenName: ${u.givenName}`] : []),
      ...(u.mail ? [`mail: ${u.mail}`] : []),
      `userPassword: ${ssha(u.password)}`,
    ]),
    ...o.groups.map((g) => [
      `dn: cn=${g.cn},${groupsDn}`,
      "objectClass: groupOfNames",
      `cn: ${g.cn}`,
      ...g.members.map((m) => `member: uid=${m},${usersDn}`),
    ]),
  ];
  return entries.map((e) => e.join("\n")).join("\n\n") + "\n";
}

function slapdConf(dir: string, baseDn: string, rootDn: string, bindDn: string): string {
  // The manager's password is hashed into the file; the bind account reads everything but
  // passwords, which only their owner may change and anyone may use to authenticate.
  return [
    "include /etc/ldap/schema/core.schema",
    "include /etc/ldap/schema/cosine.schema",
    "include /etc/ldap/schema/inetorgperson.schema",
    `pidfile ${path.join(dir, "slapd.pid")}`,
    `argsfile ${path.join(dir, "slapd.args")}`,
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    "database mdb",
    "maxsize 16777216",
    `suffix "${baseDn}"`,
    `rootdn "${rootDn}"`,
    `rootpw ROOTPW`,
    `directory ${path.join(dir, "data")}`,
    "access to attrs=userPassword by self write by anonymous auth by * none",
    `access to * by dn.exact="${bindDn}" read by users read by * none`,
    "",
  ].join("\n");
}

export async function startLdap(options: LdapOptions): Promise<LdapServer> {
  const slapd = requireTool("KPO_SLAPD");
  const slapadd = requireTool("KPO_SLAPADD");
  const ldapmodify = requireTool("KPO_LDAPMODIFY");
  const ldapwhoami = requireTool("KPO_LDAPWHOAMI");
  const dir = path.resolve(options.dir);
  const baseDn = options.baseDn ?? "dc=kpo,dc=test";
  const rootDn = `cn=manager,${baseDn}`;
  const rootPassword = randomBytes(18).toString("base64url");
  const bindDn = `cn=admin,${baseDn}`;
  const bindPassword = randomBytes(18).toString("base64url");
  mkdirSync(path.join(dir, "data"), { recursive: true });
  const conf = path.join(dir, "slapd.conf");
  writeFileSync(conf, slapdConf(dir, baseDn, rootDn, bindDn).replace("ROOTPW", ssha(rootPassword)), {
    mode: 0o600,
  });
  const seed = path.join(dir, "seed.ldif");
  writeFileSync(seed, seedLdif(baseDn, bindDn, bindPassword, options), { mode: 0o600 });
  await run(slapadd, ["-f", conf, "-l", seed, "-q"]);

  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const logFile = path.join(dir, "slapd.log");
  // -d keeps slapd in the foreground (it would daemonize otherwise, out of the process group).
  const proc = startProcess("slapd", slapd, ["-f", conf, "-h", `${url}/`, "-d", "stats"], { logFile });
  const portOpen = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
  try {
    await waitUntilReady(proc, portOpen, options.startTimeoutMs ?? 30_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }

  // Passwords go to the ldap tools through files (-y), never on a command line others can read.
  let secretFiles = 0;
  const passwordFile = (password: string) => {
    const file = path.join(dir, `.pw-${++secretFiles}`);
    writeFileSync(file, password, { mode: 0o600 });
    return file;
  };
  const rootPasswordFile = passwordFile(rootPassword);
  return {
    url,
    baseDn,
    usersDn: `ou=people,${baseDn}`,
    groupsDn: `ou=groups,${baseDn}`,
    bindDn,
    bindPassword,
    logFile,
    async setPassword(dn, password) {
      const ldif = `dn: ${dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${ssha(password)}\n`;
      const change = path.join(dir, `.change-${++secretFiles}.ldif`);
      writeFileSync(change, ldif, { mode: 0o600 });
      await run(ldapmodify, ["-x", "-H", url, "-D", rootDn, "-y", rootPasswordFile, "-f", change]);
    },
    async canBind(dn, password) {
      try {
        await run(ldapwhoami, ["-x", "-H", url, "-D", dn, "-y", passwordFile(password)]);
        return true;
      } catch {
        return false;
      }
    },
    stop: () => proc.stop(),
  };
}
