// Sign-in. The console reads /console/config.json (served by the console function):
//   local  - the local stack's sign-in route hands the local operator's token (make run only);
//   oauth  - the Cognito user pool's hosted UI, authorization code + PKCE;
//   oidc   - the configured OIDC issuer (discovered at <issuer>/.well-known/openid-configuration).
// The token lives in sessionStorage (this tab only); signing out clears it.
import { reactive } from "vue";

const TOKEN = "siyu.console.token";
const PKCE = "siyu.console.pkce";

export const session = reactive({
  ready: false,
  token: "",
  user: "",
  mode: "",
  config: null,
  error: "",
  forbidden: false,
  signedOut: false,
});

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      atob(part)
        .split("")
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

function use(token) {
  const found = claims(token);
  if (!found.exp || found.exp * 1000 < Date.now() + 60_000) return false;
  sessionStorage.setItem(TOKEN, token);
  session.token = token;
  session.user = found.email || found["cognito:username"] || found.sub || "";
  session.ready = true;
  return true;
}

export function token() {
  return session.token;
}

async function endpoints(config) {
  if (config.mode !== "oidc") return config;
  const answer = await fetch(`${config.issuer}/.well-known/openid-configuration`);
  if (!answer.ok) throw new Error(`OIDC discovery failed (${answer.status})`);
  const found = await answer.json();
  return { ...config, ...found, logout_url: found.end_session_endpoint, logout_style: "oidc" };
}

function random(bytes = 32) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function redirectToSignIn(config) {
  const verifier = random(48);
  const state = random(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, back: location.pathname + location.hash }));
  const url = new URL(config.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function exchange(config, code, returnedState) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || "{}");
  sessionStorage.removeItem(PKCE);
  if (!saved.verifier || saved.state !== returnedState) throw new Error("sign-in state mismatch: sign in again");
  const answer = await fetch(config.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.client_id,
      code,
      redirect_uri: config.redirect_uri,
      code_verifier: saved.verifier,
    }),
  });
  if (!answer.ok) throw new Error(`the token endpoint refused the sign-in (${answer.status})`);
  const tokens = await answer.json();
  history.replaceState(null, "", saved.back && saved.back !== "/console/" ? saved.back : "/console/");
  // The id token: its audience is the client id the API's JWT authorizer checks; it carries the groups.
  if (!use(tokens.id_token)) throw new Error("the issuer returned an expired or unreadable token");
}

export async function signIn() {
  session.error = "";
  session.signedOut = false;
  try {
    const answer = await fetch("/console/config.json", { cache: "no-store" });
    const config = await answer.json();
    session.config = config;
    session.mode = config.mode;
    const stored = sessionStorage.getItem(TOKEN);
    if (stored && use(stored)) return;
    if (config.mode === "local") {
      const local = await fetch(config.token_url, { cache: "no-store" });
      if (!local.ok) throw new Error(`local sign-in failed (${local.status})`);
      if (!use((await local.json()).id_token)) throw new Error("the local token is not valid");
      return;
    }
    if (config.mode === "oauth" || config.mode === "oidc") {
      const found = await endpoints(config);
      const params = new URLSearchParams(location.search);
      if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
      if (params.get("code")) return await exchange(found, params.get("code"), params.get("state"));
      return await redirectToSignIn(found);
    }
    throw new Error(config.message || "sign-in is not configured");
  } catch (error) {
    session.error = error.message || String(error);
  }
}

export async function signOut() {
  const idToken = session.token;
  sessionStorage.removeItem(TOKEN);
  session.token = "";
  session.ready = false;
  session.forbidden = false;
  const config = session.config || {};
  if (config.mode === "oauth") {
    const url = new URL(config.logout_url);
    url.search = new URLSearchParams({ client_id: config.client_id, logout_uri: config.redirect_uri }).toString();
    location.assign(url.toString());
    return;
  }
  if (config.mode === "oidc") {
    const found = await endpoints(config).catch(() => ({}));
    if (found.logout_url) {
      const url = new URL(found.logout_url);
      url.search = new URLSearchParams({
        client_id: config.client_id,
        post_logout_redirect_uri: config.redirect_uri,
        id_token_hint: idToken,
      }).toString();
      location.assign(url.toString());
      return;
    }
  }
  session.signedOut = true;
}

// The API said 401: the token expired or was revoked; sign in again (keeps the page for after).
export async function tokenRefused() {
  sessionStorage.removeItem(TOKEN);
  session.token = "";
  session.ready = false;
  await signIn();
}
