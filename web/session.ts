import { readTokenClaims, tokenFromUrl, type TokenClaims } from "../shared/client/session-token.ts";

// Session handling of the demo client. There is deliberately no endpoint that mints tokens: a developer
// pastes one (`npm run token -- u42`) or opens `/#token=…` (what the browser tests do). The token lives
// in sessionStorage — gone with the tab, never sent anywhere but the edge's Authorization header. The edge
// is the judge of a token: one the page cannot read is still sent once, so that its 401 says why it was
// refused (shown on the page; shared/client/feed-controller.ts), and then dropped.

const KEY = "fyp-token";

export interface Session {
  token: string;
  /** null: the page cannot read the token; the edge will refuse it with its reason. */
  claims: TokenClaims | null;
}

/** The session for this page load: a `#token=` in the URL wins (and is removed from the address bar). */
export function currentSession(): Session | null {
  const fromUrl = tokenFromUrl(location.href);
  if (fromUrl) {
    sessionStorage.setItem(KEY, fromUrl);
    const u = new URL(location.href);
    u.hash = "";
    u.searchParams.delete("token");
    history.replaceState(null, "", u.pathname + u.search);
  }
  const token = sessionStorage.getItem(KEY);
  return token ? { token, claims: readTokenClaims(token) } : null;
}

/** Forgets the stored token (the edge refused it): the rest of this page load and later ones are anonymous. */
export function dropSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Wires the sign-in form: validates the pasted token against the user id field, then reloads. */
export function bindSignIn(session: Session | null): void {
  const form = document.getElementById("signin-form") as HTMLFormElement;
  const userInput = document.getElementById("user-id") as HTMLInputElement;
  const tokenInput = document.getElementById("token") as HTMLTextAreaElement;
  const msg = document.getElementById("signin-msg")!;
  const signOut = document.getElementById("signout") as HTMLButtonElement;

  if (session?.claims) {
    userInput.value = session.claims.userId;
    tokenInput.placeholder = "signed in — paste another token to switch user";
  }
  signOut.hidden = !session;

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = tokenInput.value.trim();
    const claims = readTokenClaims(token);
    const wanted = userInput.value.trim();
    if (!claims) {
      msg.textContent = wanted
        ? `Paste a session token for ${wanted}: npm run token -- ${wanted}`
        : "That is not a session token (three base64url parts with a user id).";
      return;
    }
    if (wanted && wanted !== claims.userId) {
      msg.textContent = `The token is for ${claims.userId}, not ${wanted}.`;
      return;
    }
    sessionStorage.setItem(KEY, token);
    location.reload();
  });
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
}
