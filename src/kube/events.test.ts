import { describe, expect, it } from "vitest";
import { scrubSecrets } from "./events.js";

describe("scrubSecrets", () => {
  it("Given a message echoing credentials, when scrubbed, then the values are masked and the rest kept", () => {
    const msg =
      'keycloak said: {"client_secret":"s3cr3t"} password=hunter2; Authorization: Bearer abc.def.ghi';
    const out = scrubSecrets(msg);
    expect(out).not.toContain("s3cr3t");
    expect(out).not.toContain("hunter2");
    expect(out).not.toContain("abc.def.ghi");
    expect(out).toContain("keycloak said");
    expect(out).toContain("[redacted]");
  });

  it("Given a message without secrets, when scrubbed, then it is unchanged", () => {
    const msg =
      "realm team-a denied: namespace team-a is not in spec.realmGrants of KeycloakInstance kc/main";
    expect(scrubSecrets(msg)).toBe(msg);
  });
});
