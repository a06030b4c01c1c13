/**
 * What a link may carry in its fragment, which never reaches a server: a bearer token to sign in with
 * (`#token=…`) or an invitation token (`#invitation=…`). Both are taken out of the address bar at once, so that
 * neither stays in the history, a bookmark or a screenshot of the address bar.
 */
export interface LinkFragment {
  token: string | null;
  invitation: string | null;
}

export function takeLinkFragment(): LinkFragment {
  const parameters = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const fragment = { token: parameters.get("token") || null, invitation: parameters.get("invitation") || null };
  if (fragment.token || fragment.invitation) {
    // An invitation link is followed on the invitation page, wherever it pointed.
    const path = fragment.invitation ? "/invitation" : window.location.pathname;
    window.history.replaceState(window.history.state, "", path + window.location.search);
  }
  return fragment;
}

/** The invitation of the link the page was opened with, handed once to the page that uses it. */
let linkInvitation: string | null = null;

export function keepLinkInvitation(token: string | null): void {
  linkInvitation = token;
}

export function claimLinkInvitation(): string | null {
  const token = linkInvitation;
  linkInvitation = null;
  return token;
}
