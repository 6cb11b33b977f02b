import { describe, expect, it } from "vitest";
import { mergedUserProfile, normalisedProfile, userProfileOwnerAnnotation } from "./userProfile.js";

const owner = { uid: "uid-1", namespace: "team-a", name: "sso" };
const keycloaks = {
  unmanagedAttributePolicy: undefined,
  attributes: [
    { name: "username", permissions: { view: ["admin", "user"], edit: ["admin"] } },
    { name: "email", validations: { email: {} } },
    { name: "old", annotations: { [userProfileOwnerAnnotation]: "uid-1" } },
    { name: "theirs", annotations: { [userProfileOwnerAnnotation]: "uid-2" } },
    { name: "phone", displayName: "Phone" },
  ],
  groups: [{ name: "user-metadata", displayHeader: "User metadata" }],
};

describe("user profile merge", () => {
  it("Given Keycloak's profile, when definitions are merged, then listed ones replace theirs in place, ours no longer listed go, others stay", () => {
    const merged = mergedUserProfile(
      { attributes: [{ name: "phone", displayName: "Phone number" }, { name: "nickname" }] },
      keycloaks,
      owner,
    );
    expect(merged.attributes?.map((a) => a.name)).toEqual([
      "username",
      "email",
      "theirs",
      "phone",
      "nickname",
    ]);
    expect(merged.attributes?.[3]).toEqual({
      name: "phone",
      displayName: "Phone number",
      annotations: { [userProfileOwnerAnnotation]: "uid-1" },
    });
    // Groups were not listed: not managed.
    expect(merged.groups).toEqual(keycloaks.groups);
    expect(merged.unmanagedAttributePolicy).toBeUndefined();
  });

  it("Given only the unmanaged-attribute policy, when merged, then the definitions are Keycloak's", () => {
    const merged = mergedUserProfile({ unmanagedAttributePolicy: "ADMIN_EDIT" }, keycloaks, owner);
    expect(merged.unmanagedAttributePolicy).toBe("ADMIN_EDIT");
    expect(merged.attributes).toEqual(keycloaks.attributes);
  });

  it("Given Keycloak's defaults and number forms, when normalised, then they compare equal to what was sent", () => {
    const sent = { attributes: [{ name: "a", validations: { length: { min: 3 } } }] };
    const returned = {
      attributes: [
        {
          name: "a",
          multivalued: false,
          permissions: { view: [], edit: [] },
          validations: { length: { min: "3" } },
        },
      ],
      groups: [],
    };
    expect(JSON.stringify(normalisedProfile(sent))).toBe(JSON.stringify(normalisedProfile(returned)));
    const changed = { attributes: [{ name: "a", validations: { length: { min: 4 } } }] };
    expect(JSON.stringify(normalisedProfile(changed))).not.toBe(JSON.stringify(normalisedProfile(returned)));
  });
});
