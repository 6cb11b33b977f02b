// A realm's authentication flows, their executions (ordered, nested) and the realm's flow bindings.
//
// Keycloak's API builds a flow piece by piece: create the flow, append executions (an authenticator
// through /executions/execution, a sub-flow through /executions/flow — both land last and DISABLED),
// then set each requirement (PUT /executions), move each into place (raise-priority) and attach
// configs (/executions/{id}/config). The sync does the same, level by level, with the one collection
// mechanism: at each level an execution is named by what it runs (`authenticator:auth-cookie`,
// `flow:<alias>`, a repeated authenticator `…#2`), `syncCollection` adds the missing ones and deletes
// the extras, and then each one's requirement, config and sub-flow are brought in line and the level
// is put in order with the fewest moves (adjacent swaps, as many as the order has inversions). A
// resync of an unchanged flow reads each flow's execution tree once and writes nothing.
//
// One change cannot be patched: a sub-flow that moves to another parent, or whose kind changes,
// keeps its realm-unique alias, so it cannot be created in its new place before the old one is gone.
// Then that top-level flow's executions are rebuilt: all deleted, then created again in order.
//
// Ownership. Flows have no attributes, and a description is shown and edited in the admin console
// and copied with "Duplicate": a marker there would be lost or forged by hand. The realm is already
// this CR's (its attributes carry the owner uid), so the realm attribute `kpo.dev/authentication-
// flows` records which top-level flows this CR created, with the CR's uid: only realm administrators
// can change it, a copied flow is not in it, and a record left by an earlier owner of the realm does
// not count. Sub-flows belong to their top-level flow. The record is widened before flows are
// created and narrowed after they are deleted, so an interrupted sync still knows its own. Keycloak's
// built-in flows are never changed, even in an adopted realm.
//
// Everything that can be checked before writing is checked in `prepareAuthentication` (the shape of
// the flows, ownership of existing flows, every binding's flow, every required action), so a spec
// that would fail leaves the realm untouched.
import type AuthenticationExecutionInfoRepresentation from "@keycloak/keycloak-admin-client/lib/defs/authenticationExecutionInfoRepresentation.js";
import type AuthenticationFlowRepresentation from "@keycloak/keycloak-admin-client/lib/defs/authenticationFlowRepresentation.js";
import type RealmRepresentation from "@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js";
import type {
  DesiredAuthentication,
  DesiredAuthenticatorConfig,
  DesiredExecution,
  DesiredFlow,
  FlowBindingField,
} from "../resources/authenticationFlowRepresentation.js";
import { syncCollection, type Collection } from "./collection.js";
import { MissingReferenceError, OwnershipError } from "./errors.js";
import { attributeValue, type Owner } from "./ownership.js";
import { prepareRequiredActions } from "./requiredActions.js";
import type { SyncSession } from "./session.js";

type ExecutionInfo = AuthenticationExecutionInfoRepresentation;
type FlowRepresentation = AuthenticationFlowRepresentation;

/** Realm attribute recording the top-level flows this CR created: `{"owner": uid, "flows": [...]}`. */
export const ownedFlowsAttribute = "kpo.dev/authentication-flows";

/** The top-level flows Keycloak creates in every realm (also refused by the CRD). */
export const builtinTopLevelFlows: readonly string[] = [
  "browser",
  "direct grant",
  "registration",
  "reset credentials",
  "clients",
  "first broker login",
  "docker auth",
  "http challenge",
  "saml ecp",
];

/** The flows this CR created, by the record in the realm's attributes; none if another CR wrote it. */
export function recordedFlows(attributes: unknown, owner: Owner): string[] {
  const value = attributeValue(attributes, ownedFlowsAttribute);
  if (value === undefined) return [];
  try {
    const parsed = JSON.parse(value) as { owner?: unknown; flows?: unknown };
    if (parsed.owner !== owner.uid || owner.uid === "" || !Array.isArray(parsed.flows)) return [];
    return parsed.flows.filter((f): f is string => typeof f === "string");
  } catch {
    return [];
  }
}

export function flowRecord(owner: Owner, flows: Iterable<string>): string {
  return JSON.stringify({ owner: owner.uid, flows: [...new Set(flows)].sort() });
}

/** A Keycloak execution and, for a sub-flow, its own executions. */
export interface ExecutionNode {
  info: ExecutionInfo;
  children: ExecutionNode[];
}

/**
 * Keycloak lists a flow's executions flattened depth first, each with its `level`; this rebuilds the
 * tree (an execution at level n belongs to the last sub-flow seen at level n-1).
 */
export function executionTree(flat: readonly ExecutionInfo[]): ExecutionNode[] {
  const roots: ExecutionNode[] = [];
  const open: ExecutionNode[] = [];
  for (const info of flat) {
    const level = info.level ?? 0;
    const node: ExecutionNode = { info, children: [] };
    if (level === 0) roots.push(node);
    else open[level - 1]?.children.push(node);
    open[level] = node;
    open.length = level + 1;
  }
  return roots;
}

/** Keys that name each item by what it runs; the n-th repeat of a key gets `#n`. */
export function occurrenceKeys(bases: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return bases.map((base) => {
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

const desiredBase = (e: DesiredExecution) =>
  e.kind === "flow" ? `flow:${e.flow.alias}` : `authenticator:${e.authenticator}`;
const actualBase = (n: ExecutionNode) =>
  n.info.authenticationFlow ? `flow:${n.info.displayName ?? ""}` : `authenticator:${n.info.providerId ?? ""}`;

function keyed<T>(items: readonly T[], base: (item: T) => string): { key: string; item: T }[] {
  const keys = occurrenceKeys(items.map(base));
  return items.map((item, i) => ({ key: keys[i] ?? "", item }));
}

/**
 * The raise-priority moves that turn `current` into `desired` (both the same keys): insertion sort
 * by adjacent swaps, which makes exactly as many moves as there are pairs out of order — the
 * fewest any sequence of one-step moves can make. An ordered level needs none.
 */
export function adjacentSwaps(current: readonly string[], desired: readonly string[]): string[] {
  const order = current.filter((k) => desired.includes(k));
  const moves: string[] = [];
  desired.forEach((key, target) => {
    let at = order.indexOf(key);
    while (at > target) {
      moves.push(key);
      order[at] = order[at - 1] ?? "";
      order[at - 1] = key;
      at -= 1;
    }
  });
  return moves;
}

/** Every sub-flow of a tree by alias: its parent's alias and kind. */
function subFlowPlaces(
  parent: string,
  executions: readonly DesiredExecution[],
  into = new Map<string, { parent: string; providerId: string }>(),
) {
  for (const e of executions) {
    if (e.kind !== "flow") continue;
    into.set(e.flow.alias, { parent, providerId: e.flow.providerId });
    subFlowPlaces(e.flow.alias, e.flow.executions, into);
  }
  return into;
}

function actualSubFlowPlaces(
  parent: string,
  nodes: readonly ExecutionNode[],
  into = new Map<string, { parent: string; providerId?: string }>(),
) {
  for (const n of nodes) {
    if (!n.info.authenticationFlow) continue;
    const alias = n.info.displayName ?? "";
    into.set(alias, { parent, ...(n.info.providerId ? { providerId: n.info.providerId } : {}) });
    actualSubFlowPlaces(alias, n.children, into);
  }
  return into;
}

/** Does a sub-flow the spec keeps sit under another parent, or is it of another kind, in Keycloak? */
export function needsRebuild(flow: DesiredFlow, roots: readonly ExecutionNode[]): boolean {
  const actual = actualSubFlowPlaces(flow.alias, roots);
  for (const [alias, want] of subFlowPlaces(flow.alias, flow.executions)) {
    const have = actual.get(alias);
    if (!have) continue;
    if (have.parent !== want.parent) return true;
    if (have.providerId !== undefined && have.providerId !== want.providerId) return true;
  }
  return false;
}

const allSubFlowAliases = (flows: readonly DesiredFlow[]) => {
  const out: string[] = [];
  for (const f of flows) out.push(...subFlowPlaces(f.alias, f.executions).keys());
  return out;
};

/** What binding a field is, for messages: `spec.flowBindings.browser`. */
const bindingSpecKey: Record<FlowBindingField, string> = {
  browserFlow: "browser",
  registrationFlow: "registration",
  directGrantFlow: "directGrant",
  resetCredentialsFlow: "resetCredentials",
  clientAuthenticationFlow: "clientAuthentication",
  dockerAuthenticationFlow: "dockerAuthentication",
  firstBrokerLoginFlow: "firstBrokerLogin",
};

export interface AuthenticationPlan {
  /** Writes what differs: flows, bindings, then the pruning of flows no longer listed, required actions. */
  apply(): Promise<void>;
}

/**
 * Reads the realm's flows (and required actions) and checks the whole desired authentication
 * against them, throwing before anything is written; returns what applies it. A realm that does
 * not exist yet has only Keycloak's built-in flows.
 */
export async function prepareAuthentication(
  session: SyncSession,
  desired: DesiredAuthentication,
  owner: Owner,
  adopt: boolean,
): Promise<AuthenticationPlan> {
  const realm = session.realm;
  if (desired.problems.length > 0)
    throw new MissingReferenceError(`Realm "${realm}": ${desired.problems.join("; ")}`);
  const rep = await session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
  const existing = rep ? await listFlows(session) : undefined;
  const recorded = recordedFlows(rep?.attributes, owner);
  const flows = desired.flows;
  if (flows && existing) checkFlows(session, flows, existing, recorded, adopt);
  if (desired.bindings) checkBindings(session, desired.bindings, flows ?? [], existing);
  if (flows && existing)
    await checkPrunable(session, { flows, existing, recorded, bindings: desired.bindings ?? {}, rep });
  const requiredActions = desired.requiredActions
    ? await prepareRequiredActions(session, desired.requiredActions, Boolean(rep))
    : undefined;
  return {
    apply: async () => {
      if (flows) await syncFlows(session, flows, owner, adopt);
      if (desired.bindings) await syncBindings(session, desired.bindings);
      if (flows) await pruneFlows(session, flows, owner);
      await requiredActions?.apply();
    },
  };
}

async function listFlows(session: SyncSession): Promise<Map<string, FlowRepresentation>> {
  const realm = session.realm;
  const flows = await session.read(`list authentication flows of realm "${realm}"`, (kc) =>
    kc.authenticationManagement.getFlows({ realm }),
  );
  return new Map(flows.filter((f) => f.alias && f.id).map((f) => [f.alias ?? "", f]));
}

function isBuiltinFlow(flow: FlowRepresentation): boolean {
  return flow.builtIn === true || builtinTopLevelFlows.includes(flow.alias ?? "");
}

/** May this CR change the existing top-level flow `alias`? Throws why not. */
function checkFlowOwnership(
  session: SyncSession,
  alias: string,
  actual: FlowRepresentation,
  recorded: readonly string[],
  adopt: boolean,
): void {
  const what = `Authentication flow "${alias}" in realm "${session.realm}"`;
  if (isBuiltinFlow(actual))
    throw new OwnershipError(
      `${what} is one of Keycloak's built-in flows and is never edited in place; remove it from spec.authenticationFlows, or copy it under another alias and bind the copy with spec.flowBindings`,
    );
  if (!recorded.includes(alias) && !adopt)
    throw new OwnershipError(
      `${what} already exists and was not created by this resource; it is left alone. Rename it in spec.authenticationFlows, or set spec.adopt to take over the realm's unowned objects`,
    );
}

function checkFlows(
  session: SyncSession,
  flows: readonly DesiredFlow[],
  existing: ReadonlyMap<string, FlowRepresentation>,
  recorded: readonly string[],
  adopt: boolean,
): void {
  const realm = session.realm;
  for (const flow of flows) {
    const actual = existing.get(flow.alias);
    if (!actual) continue;
    checkFlowOwnership(session, flow.alias, actual, recorded, adopt);
    if (actual.providerId !== flow.providerId)
      throw new MissingReferenceError(
        `Authentication flow "${flow.alias}" in realm "${realm}" is a ${actual.providerId ?? "?"} in Keycloak and a flow's kind cannot change; give the ${flow.providerId} another alias`,
      );
  }
  for (const alias of allSubFlowAliases(flows)) {
    if (existing.has(alias))
      throw new MissingReferenceError(
        `spec.authenticationFlows[${alias}] is used as a sub-flow, but realm "${realm}" has a top-level flow of that name and flow aliases are unique in a realm; choose another alias`,
      );
  }
}

function checkBindings(
  session: SyncSession,
  bindings: Partial<Record<FlowBindingField, string>>,
  flows: readonly DesiredFlow[],
  existing: ReadonlyMap<string, FlowRepresentation> | undefined,
): void {
  const realm = session.realm;
  const subFlows = new Set(allSubFlowAliases(flows));
  for (const [field, alias] of Object.entries(bindings) as [FlowBindingField, string][]) {
    const where = `spec.flowBindings.${bindingSpecKey[field]}`;
    if (subFlows.has(alias))
      throw new MissingReferenceError(
        `${where} names "${alias}", a sub-flow of spec.authenticationFlows; bind a top-level flow (one no execution enters)`,
      );
    const providerId =
      flows.find((f) => f.alias === alias)?.providerId ??
      existing?.get(alias)?.providerId ??
      (existing === undefined && builtinTopLevelFlows.includes(alias)
        ? alias === "clients"
          ? "client-flow"
          : "basic-flow"
        : undefined);
    if (providerId === undefined)
      throw new MissingReferenceError(
        `${where} names flow "${alias}", which is neither in spec.authenticationFlows nor in realm "${realm}"; add the flow or correct the name (nothing was changed)`,
      );
    const wanted = field === "clientAuthenticationFlow" ? "client-flow" : "basic-flow";
    if (providerId !== wanted)
      throw new MissingReferenceError(
        `${where} names flow "${alias}", a ${providerId}; this binding takes a ${wanted}`,
      );
  }
}

/**
 * Keycloak refuses to delete a flow that a binding or a client override still uses (an internal
 * error): say which, before anything is written, so the user can move them first.
 */
async function checkPrunable(
  session: SyncSession,
  state: {
    flows: readonly DesiredFlow[];
    existing: ReadonlyMap<string, FlowRepresentation>;
    recorded: readonly string[];
    bindings: Partial<Record<FlowBindingField, string>>;
    /** The realm as read by the caller. */
    rep: RealmRepresentation | undefined;
  },
): Promise<void> {
  const realm = session.realm;
  const { flows, existing, recorded, bindings } = state;
  const leaving = recorded.filter((alias) => !flows.some((f) => f.alias === alias) && existing.has(alias));
  if (leaving.length === 0) return;
  // Not every binding field is in the admin client's RealmRepresentation type (firstBrokerLoginFlow).
  const rep = (state.rep ?? {}) as Record<string, unknown>;
  const clients = await session.read(`list clients of realm "${realm}"`, (kc) => kc.clients.find({ realm }));
  for (const alias of leaving) {
    const id = existing.get(alias)?.id;
    const boundAs = (Object.keys(bindingSpecKey) as FlowBindingField[]).filter(
      (field) => (bindings[field] ?? rep[field]) === alias,
    );
    if (boundAs.length > 0)
      throw new MissingReferenceError(
        `Authentication flow "${alias}" was removed from spec.authenticationFlows but realm "${realm}" still uses it (${boundAs.map((f) => `spec.flowBindings.${bindingSpecKey[f]}`).join(", ")}); bind another flow there first (nothing was changed)`,
      );
    const users = clients
      .filter((c) => Object.values(c.authenticationFlowBindingOverrides ?? {}).includes(id ?? ""))
      .map((c) => `"${c.clientId ?? ""}"`);
    if (users.length > 0)
      throw new MissingReferenceError(
        `Authentication flow "${alias}" was removed from spec.authenticationFlows but client(s) ${users.join(", ")} of realm "${realm}" still override their login with it; change their spec.authenticationFlowBindingOverrides first (nothing was changed)`,
      );
  }
}

/** The top-level flows, created or updated, with their executions; nothing pruned yet. */
async function syncFlows(
  session: SyncSession,
  flows: readonly DesiredFlow[],
  owner: Owner,
  adopt: boolean,
): Promise<void> {
  const recorded = recordedFlows((await readRealm(session))?.attributes, owner);
  // Widened first: a flow is on record as ours before it exists. Ownership is checked against the
  // record as it was, so only an adopted flow joins it without having been created here.
  await writeRecord(session, owner, [...recorded, ...flows.map((f) => f.alias)]);
  await syncCollection(session, flowCollection(session, recorded, adopt, "place"), flows);
}

/** Deletes the flows this CR created and no longer lists (after the bindings moved off them). */
async function pruneFlows(session: SyncSession, flows: readonly DesiredFlow[], owner: Owner): Promise<void> {
  const recorded = recordedFlows((await readRealm(session))?.attributes, owner);
  const wanted = flows.map((f) => f.alias);
  if (recorded.every((alias) => wanted.includes(alias))) return;
  await syncCollection(session, flowCollection(session, recorded, false, "prune"), flows);
  await writeRecord(session, owner, wanted);
}

function flowCollection(
  session: SyncSession,
  recorded: readonly string[],
  adopt: boolean,
  pass: "place" | "prune",
): Collection<DesiredFlow, FlowRepresentation> {
  const realm = session.realm;
  return {
    describe: (alias) => `authentication flow "${alias}" in realm "${realm}"`,
    field: (alias) => `authenticationFlow:${alias}`,
    nameOf: (flow) => flow.alias,
    list: () => listFlows(session),
    checkExisting: (alias, actual) =>
      // The prune pass follows the place pass: what is listed was checked and placed there.
      pass === "place" ? checkFlowOwnership(session, alias, actual, recorded, adopt) : undefined,
    create: (flow) => (kc) =>
      kc.authenticationManagement.createFlow({
        realm,
        alias: flow.alias,
        description: flow.description ?? "",
        providerId: flow.providerId,
        topLevel: true,
        builtIn: false,
      }),
    update: (flow, actual) => {
      if (pass === "prune" || flow.description === undefined) return undefined;
      if ((actual.description ?? "") === flow.description) return undefined;
      const flowId = actual.id ?? "";
      const { authenticationExecutions: _executions, ...rep } = actual;
      return (kc) =>
        kc.authenticationManagement.updateFlow({ realm, flowId }, { ...rep, description: flow.description });
    },
    remove: (alias, actual) => {
      const flowId = actual.id ?? "";
      return pass === "prune" && recorded.includes(alias) && !isBuiltinFlow(actual)
        ? (kc) => kc.authenticationManagement.deleteFlow({ realm, flowId })
        : undefined;
    },
    placed:
      pass === "place"
        ? (flow, actual) => syncFlowExecutions(session, flow, actual === undefined)
        : undefined,
  };
}

async function readRealm(session: SyncSession): Promise<RealmRepresentation | undefined> {
  const realm = session.realm;
  return session.read(`read realm "${realm}"`, (kc) => kc.realms.findOne({ realm }));
}

async function writeRecord(session: SyncSession, owner: Owner, flows: readonly string[]): Promise<void> {
  const realm = session.realm;
  const value = flowRecord(owner, flows);
  const fresh = await readRealm(session);
  if (attributeValue(fresh?.attributes, ownedFlowsAttribute) === value) return;
  await session.write("PUT", "authenticationFlows", `record the flows of realm "${realm}"`, (kc) =>
    kc.realms.update({ realm }, { attributes: { ...fresh?.attributes, [ownedFlowsAttribute]: value } }),
  );
}

async function readTree(session: SyncSession, flowAlias: string): Promise<ExecutionNode[]> {
  const realm = session.realm;
  const flat = await session.read(`list executions of flow "${flowAlias}" in realm "${realm}"`, (kc) =>
    kc.authenticationManagement.getExecutions({ realm, flow: flowAlias }),
  );
  return executionTree(flat);
}

async function syncFlowExecutions(session: SyncSession, flow: DesiredFlow, created: boolean): Promise<void> {
  let roots = created ? [] : await readTree(session, flow.alias);
  if (needsRebuild(flow, roots)) {
    for (const node of roots) {
      const id = node.info.id ?? "";
      await session.write(
        "DELETE",
        `authenticationFlow:${flow.alias}`,
        `delete an execution of flow "${flow.alias}" to rebuild it (a sub-flow moved or changed kind)`,
        (kc) => kc.authenticationManagement.delExecution({ realm: session.realm, id }),
      );
    }
    roots = [];
  }
  await syncLevel(session, { alias: flow.alias, path: flow.alias }, roots, flow.executions);
}

interface Level {
  /** Alias of the flow whose direct executions these are. */
  alias: string;
  /** Top-level alias down to this flow, for messages and changed fields: `corp/forms`. */
  path: string;
}

function describeKey(key: string): string {
  const [kind, ...rest] = key.split(":");
  return kind === "flow" ? `sub-flow "${rest.join(":")}"` : `authenticator "${rest.join(":")}"`;
}

/** One level of a flow: membership, then each execution's requirement, config and sub-flow, then order. */
async function syncLevel(
  session: SyncSession,
  level: Level,
  children: ExecutionNode[],
  desired: readonly DesiredExecution[],
): Promise<void> {
  const realm = session.realm;
  const wanted = keyed(desired, desiredBase);
  const where = (key: string) => `${describeKey(key)} in flow "${level.path}" of realm "${realm}"`;
  const field = `authenticationFlow:${level.path}`;
  const executions: Collection<{ key: string; item: DesiredExecution }, ExecutionNode> = {
    describe: where,
    field: () => field,
    nameOf: (d) => d.key,
    list: () => Promise.resolve(new Map(keyed(children, actualBase).map(({ key, item }) => [key, item]))),
    create:
      ({ item }) =>
      (kc) =>
        item.kind === "flow"
          ? kc.authenticationManagement.addFlowToFlow({
              realm,
              flow: level.alias,
              alias: item.flow.alias,
              type: item.flow.providerId,
              // Keycloak's own console sends this for every sub-flow; the type decides the kind.
              provider: "registration-page-form",
              description: item.flow.description ?? "",
            })
          : kc.authenticationManagement.addExecutionToFlow({
              realm,
              flow: level.alias,
              provider: item.authenticator,
            }),
    remove: (_, node) => {
      const id = node.info.id ?? "";
      return (kc) => kc.authenticationManagement.delExecution({ realm, id });
    },
  };
  const { membershipChanged } = await syncCollection(session, executions, wanted);
  // New executions land last and DISABLED: read the level again to see them with their ids.
  const nodes = membershipChanged ? await readTree(session, level.alias) : children;
  const actual = keyed(nodes, actualBase);
  const byKey = new Map(actual.map(({ key, item }) => [key, item]));
  for (const { key, item } of wanted) {
    const node = byKey.get(key);
    if (!node?.info.id)
      throw new MissingReferenceError(
        `${where(key)} is missing after it was added; Keycloak changed meanwhile`,
      );
    if (node.info.requirement !== item.requirement) {
      const info = node.info;
      await session.write("PUT", field, `set ${where(key)} to ${item.requirement}`, (kc) =>
        kc.authenticationManagement.updateExecution(
          { realm, flow: level.alias },
          { ...info, requirement: item.requirement },
        ),
      );
    }
    if (item.kind === "authenticator" && item.config)
      await syncConfig(session, field, where(key), node, item.config);
    if (item.kind === "flow") {
      await syncSubFlowDescription(session, field, item.flow, node);
      await syncLevel(
        session,
        { alias: item.flow.alias, path: `${level.path}/${item.flow.alias}` },
        node.children,
        item.flow.executions,
      );
    }
  }
  const moves = adjacentSwaps(
    actual.map((a) => a.key),
    wanted.map((w) => w.key),
  );
  for (const key of moves) {
    const id = byKey.get(key)?.info.id ?? "";
    await session.write("POST", field, `move ${where(key)} up one place`, (kc) =>
      kc.authenticationManagement.raisePriorityExecution({ realm, id }),
    );
  }
}

async function syncConfig(
  session: SyncSession,
  field: string,
  where: string,
  node: ExecutionNode,
  desired: DesiredAuthenticatorConfig,
): Promise<void> {
  const realm = session.realm;
  const executionId = node.info.id ?? "";
  const configId = node.info.authenticationConfig;
  if (!configId) {
    await session.write("POST", field, `configure ${where}`, (kc) =>
      kc.authenticationManagement.createConfig({
        realm,
        id: executionId,
        alias: desired.alias,
        config: desired.config,
      }),
    );
    return;
  }
  const actual = await session.read(`read the config of ${where}`, (kc) =>
    kc.authenticationManagement.getConfig({ realm, id: configId }),
  );
  if (actual.alias === desired.alias && sameStrings(actual.config ?? {}, desired.config)) return;
  await session.write("PUT", field, `update the config of ${where}`, (kc) =>
    kc.authenticationManagement.updateConfig({
      realm,
      id: configId,
      alias: desired.alias,
      config: desired.config,
    }),
  );
}

function sameStrings(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => String(a[k]) === b[k]);
}

async function syncSubFlowDescription(
  session: SyncSession,
  field: string,
  flow: DesiredFlow,
  node: ExecutionNode,
): Promise<void> {
  if (flow.description === undefined || (node.info.description ?? "") === flow.description) return;
  const realm = session.realm;
  const flowId = node.info.flowId ?? "";
  const rep = await session.read(`read sub-flow "${flow.alias}" of realm "${realm}"`, (kc) =>
    kc.authenticationManagement.getFlow({ realm, flowId }),
  );
  const { authenticationExecutions: _executions, ...settings } = rep;
  await session.write(
    "PUT",
    field,
    `update the description of sub-flow "${flow.alias}" in realm "${realm}"`,
    (kc) =>
      kc.authenticationManagement.updateFlow(
        { realm, flowId },
        { ...settings, description: flow.description },
      ),
  );
}

async function syncBindings(
  session: SyncSession,
  bindings: Partial<Record<FlowBindingField, string>>,
): Promise<void> {
  const realm = session.realm;
  // Not every binding field is in the admin client's RealmRepresentation type (firstBrokerLoginFlow).
  const rep = ((await readRealm(session)) ?? {}) as Record<string, unknown>;
  const update: Partial<Record<FlowBindingField, string>> = {};
  for (const [field, alias] of Object.entries(bindings) as [FlowBindingField, string][]) {
    if (rep[field] !== alias) update[field] = alias;
  }
  const fields = Object.keys(update).map((f) => `flowBindings.${f}`);
  if (fields.length === 0) return;
  session.changed.push(...fields.filter((f) => !session.changed.includes(f)));
  await session.write(
    "PUT",
    fields[0] ?? "flowBindings",
    `bind the flows of realm "${realm}" (${fields.join(", ")})`,
    (kc) => kc.realms.update({ realm }, update),
  );
}

/**
 * A client's flow overrides (Keycloak key → alias) as Keycloak stores them (key → flow id). Any
 * top-level basic-flow of the client's realm may be named: flows are the realm owners' to define,
 * and a client grant confers no more than choosing among them. Throws before any write when one is
 * unknown or of the wrong kind.
 */
export async function resolveFlowOverrides(
  session: SyncSession,
  clientId: string,
  overrides: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const flows = await listFlows(session);
  const ids: Record<string, string> = {};
  for (const [key, alias] of Object.entries(overrides)) {
    const where = `Client "${clientId}" spec.authenticationFlowBindingOverrides.${key === "direct_grant" ? "directGrant" : key}`;
    const flow = flows.get(alias);
    if (!flow?.id)
      throw new MissingReferenceError(
        `${where} names flow "${alias}", which does not exist in realm "${session.realm}"; ask the realm's owners to add it to the KeycloakRealm's spec.authenticationFlows, or correct the name`,
      );
    if (flow.providerId !== "basic-flow")
      throw new MissingReferenceError(
        `${where} names flow "${alias}", a ${flow.providerId ?? "?"}; it takes a basic-flow`,
      );
    ids[key] = flow.id;
  }
  return ids;
}
