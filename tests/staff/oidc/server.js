// The OpenID Provider of the single sign-on tests: panva's oidc-provider (OpenID Certified),
// configured from the environment by tests/staff/oidc_support.py and stopped by it.
//
//   PORT           loopback port to listen on (the issuer is http://127.0.0.1:PORT)
//   CLIENT_ID      the one client (confidential, client_secret_basic, code flow, PKCE required)
//   CLIENT_SECRET
//   REDIRECT_URIS  comma-separated
//   ACCOUNTS_FILE  a JSON file, read at every sign-in (tests change groups between sign-ins):
//                  {"login": {"email": ..., "email_verified": ..., "name": ..., "groups": [...]}}
//
// Sign-in uses the library's development interactions (any password for a known login), as
// a real provider's form would be used: the browser types into it. Consent is given in advance
// for the client (a town's own application needs none), the recipe the library documents.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = () => JSON.parse(readFileSync(process.env.ACCOUNTS_FILE, 'utf8'));
const clientId = process.env.CLIENT_ID;
const scope = 'openid email profile groups';

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-provider-cookie-key-not-secret'] },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(scope);
    await grant.save();
    return grant;
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
