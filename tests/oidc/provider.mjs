// A real OpenID provider for Quorum's single sign-on tests: the certified oidc-provider
// package, on loopback, with its development sign-in pages (any login name is accepted as
// the account of that name; the password is not checked). tests/api/sso.rs starts it with:
//   OIDC_PORT          the port to listen on (127.0.0.1)
//   OIDC_ISSUER        its issuer identifier, when it is reached through another address
//                      (a test's man in the middle); http://127.0.0.1:OIDC_PORT otherwise
//   OIDC_CLIENTS       JSON list of clients: [{ client_id, client_secret, redirect_uris,
//                      post_logout_redirect_uris }]
//   OIDC_ACCOUNTS      JSON object: login name -> claims (email, email_verified, name, groups)
// It prints "listening" once it answers.

import { createServer } from "node:http";
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const issuer = process.env.OIDC_ISSUER ?? `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? "{}");
const clients = JSON.parse(process.env.OIDC_CLIENTS ?? "[]").map((client) => ({
  grant_types: ["authorization_code"],
  response_types: ["code"],
  ...client,
}));

const provider = new Provider(issuer, {
  clients,
  async findAccount(_ctx, id) {
    const claims = accounts[id];
    if (!claims) {
      return undefined;
    }
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  // The claims go into the ID token itself (Quorum reads no userinfo).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ["quorum-tests-only"] },
});
// Plain http on loopback: tell the provider it is not behind a TLS proxy.
provider.proxy = false;

createServer(provider.callback()).listen(port, "127.0.0.1", () => {
  console.log("listening");
});
