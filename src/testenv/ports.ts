import net from "node:net";

/** A port that was free on 127.0.0.1 a moment ago. Test servers bind to loopback only. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the address of a probe socket"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
