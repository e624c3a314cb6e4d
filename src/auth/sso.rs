//! Single sign-on with OpenID Connect providers (`openidconnect`): the authorisation code
//! flow with PKCE, `state` and `nonce`, the ID token checked against the provider's
//! published keys. Accounts are matched by verified e-mail address; roles stay Quorum's
//! unless the administrator maps a groups claim to them; creating an account at a first
//! sign-in is an option, off by default. An account may be set to sign in this way only.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndSessionUrl, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use subtle::ConstantTimeEq;

use super::sessions::{PendingSecondFactor, SignInMethod, SignedInAccount};
use super::throttle::{self, ThrottleKeys};
use super::{
    LoginPage, SignIn, complete_sign_in, normalize_email, password, safe_next, two_step,
    wait_message, with_retry_after,
};
use crate::audit::{self, Actor};
use crate::config::ServerConfig;
use crate::users::{self, Role, repo::NewAccount};
use crate::web::form::{Form, clean_text};
use crate::web::session::{Client, Session};
use crate::web::{AppError, AppResult, AppState, PageContext, RequestMeta};

/// How long a visitor may stay at the provider before the sign-in must start again.
const LOGIN_TIMEOUT_SECS: f64 = 10.0 * 60.0;

/// One OpenID provider, from `--sso-provider` / `QUORUM_SSO_PROVIDERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// A short name used in addresses (`/login/sso/<id>`).
    pub id: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The sign-in button's text.
    pub label: String,
}

impl ProviderConfig {
    /// Reads `id=corp,issuer=https://…,client-id=…,client-secret=…,label=Sign in with Corp`
    /// (the label last: it may hold commas).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut id = None;
        let mut issuer = None;
        let mut client_id = None;
        let mut client_secret = None;
        let mut label = None;
        let pairs: Vec<&str> = text.split(',').collect();
        for (index, pair) in pairs.iter().enumerate() {
            if pair.trim().is_empty() {
                continue;
            }
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{}` is not key=value", pair.trim()))?;
            let slot = match key.trim() {
                "id" => &mut id,
                "issuer" => &mut issuer,
                "client-id" => &mut client_id,
                "client-secret" => &mut client_secret,
                "label" => {
                    // The rest of the text, commas included.
                    let rest = std::iter::once(value)
                        .chain(pairs[index + 1..].iter().copied())
                        .collect::<Vec<_>>()
                        .join(",");
                    label = Some(rest.trim().to_owned());
                    break;
                }
                other => {
                    return Err(format!(
                        "unknown key `{other}` in a single sign-on provider"
                    ));
                }
            };
            *slot = Some(value.trim().to_owned());
        }
        let required = |value: Option<String>, key: &str| {
            value
                .filter(|value| !value.is_empty())
                .ok_or_else(|| format!("a single sign-on provider needs `{key}=`"))
        };
        let id = required(id, "id")?;
        if id.len() > 40
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "the provider id `{id}` must be at most 40 letters, digits, - or _"
            ));
        }
        let issuer = required(issuer, "issuer")?;
        IssuerUrl::new(issuer.clone()).map_err(|error| format!("issuer `{issuer}`: {error}"))?;
        Ok(Self {
            label: label
                .filter(|label| !label.is_empty())
                .unwrap_or_else(|| format!("Sign in with {id}")),
            id,
            issuer,
            client_id: required(client_id, "client-id")?,
            client_secret: required(client_secret, "client-secret")?,
        })
    }
}

/// Quorum roles given to the members of provider groups, from `QUORUM_SSO_ROLE_GROUPS`
/// (`board=it-board,admin=quorum-admins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGroups(Vec<(Role, String)>);

impl RoleGroups {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for pair in text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let (role, group) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not role=group"))?;
            let role: Role = role.trim().parse().map_err(|_| {
                format!("`{role}` is not a role (board, it_manager, auditor, admin)")
            })?;
            pairs.push((role, group.trim().to_owned()));
        }
        if pairs.is_empty() {
            return Err("name at least one role=group".to_owned());
        }
        Ok(Self(pairs))
    }

    /// The roles the groups give, in Quorum's order.
    pub fn roles_of(&self, groups: &[String]) -> Vec<Role> {
        Role::ALL
            .iter()
            .copied()
            .filter(|role| {
                self.0
                    .iter()
                    .any(|(mapped, group)| mapped == role && groups.contains(group))
            })
            .collect()
    }
}

/// The provider metadata Quorum reads: the standard fields and the end-session address.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct LogoutMetadata {
    end_session_endpoint: Option<EndSessionUrl>,
}

impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client for talking to providers: it follows no redirect (a provider's answer is
/// never sent on elsewhere) and gives up after ten seconds.
fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the HTTP client's settings are valid")
    })
}

/// One request to a provider, as `openidconnect` asks for it.
async fn send(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http_client()
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(answer
        .body(body)
        .expect("a response copied from a valid one is valid"))
}

async fn discover(provider: &ProviderConfig) -> Result<Metadata, String> {
    let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|error| error.to_string())?;
    let http = |request| send(request);
    Metadata::discover_async(issuer, &http)
        .await
        .map_err(|error| format!("discovery: {error}"))
}

fn redirect_url(config: &ServerConfig, provider: &ProviderConfig) -> Result<RedirectUrl, AppError> {
    RedirectUrl::new(format!(
        "{}/login/sso/{}/callback",
        config.base_url(),
        provider.id
    ))
    .map_err(|error| AppError::Internal(anyhow::anyhow!("redirect address: {error}")))
}

fn provider<'a>(config: &'a ServerConfig, id: &str) -> Option<&'a ProviderConfig> {
    config
        .sso_providers
        .iter()
        .find(|provider| provider.id == id)
}

/// The sign-in buttons of the configured providers: (id, label).
pub fn buttons(config: &ServerConfig) -> Vec<(String, String)> {
    config
        .sso_providers
        .iter()
        .map(|provider| (provider.id.clone(), provider.label.clone()))
        .collect()
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    next: Option<String>,
}

/// `POST /login/sso/{id}`: sends the visitor to the provider, remembering what its answer
/// must match.
pub(super) async fn start(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<StartForm>,
) -> AppResult<Response> {
    let provider = provider(&state.config, &id).ok_or(AppError::NotFound)?;
    let next = safe_next(form.next.as_deref());
    let Some(session_id) = session.id() else {
        return Err(AppError::LoginRequired { next });
    };
    let metadata = match discover(provider).await {
        Ok(metadata) => metadata,
        Err(error) => {
            tracing::warn!(provider = %provider.id, %error, "single sign-on provider unreachable");
            session.push_flash(
                crate::web::session::FlashKind::Error,
                format!(
                    "{} cannot be reached right now. Try again in a moment, or sign in with \
                     your password.",
                    provider.label
                ),
            );
            return Ok(Redirect::to("/login").into_response());
        }
    };
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect_url(&state.config, provider)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge);
    if state.config.sso_role_groups.is_some() {
        request = request.add_scope(Scope::new("groups".to_owned()));
    }
    let (url, csrf_state, nonce) = request.url();
    let mut conn = state.pool.acquire().await?;
    sqlx::query!(
        "INSERT INTO sso_logins (session_id, provider, state, nonce, pkce_verifier, next, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT (session_id) DO UPDATE
            SET provider = EXCLUDED.provider, state = EXCLUDED.state, nonce = EXCLUDED.nonce,
                pkce_verifier = EXCLUDED.pkce_verifier, next = EXCLUDED.next,
                expires_at = EXCLUDED.expires_at",
        session_id,
        provider.id,
        csrf_state.secret(),
        nonce.secret(),
        verifier.secret(),
        next,
        LOGIN_TIMEOUT_SECS
    )
    .execute(&mut *conn)
    .await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// A sign-in under way, taken by the provider's answer.
struct PendingLogin {
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
}

async fn take_pending(
    conn: &mut PgConnection,
    session_id: i64,
    provider: &str,
) -> sqlx::Result<Option<PendingLogin>> {
    sqlx::query_as!(
        PendingLogin,
        "DELETE FROM sso_logins
         WHERE session_id = $1 AND provider = $2 AND expires_at > now()
         RETURNING state, nonce, pkce_verifier, next",
        session_id,
        provider
    )
    .fetch_optional(conn)
    .await
}

/// Sign-ins sent to a provider that never came back: removed with the expired sessions.
pub async fn delete_expired(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM sso_logins WHERE expires_at <= now()")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// What the provider said about the person, once checked.
struct Identity {
    email: String,
    name: Option<String>,
    groups: Vec<String>,
}

/// Why a sign-in was refused: the reason for the audit trail, and what the person reads.
struct Refused {
    reason: String,
    message: String,
}

impl Refused {
    fn new(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

const NOT_SIGNED_IN: &str = "Single sign-on did not sign you in. Start again from the sign-in \
    page.";

/// `GET /login/sso/{id}/callback`: the provider's answer. Checks the state, exchanges the
/// code (with the PKCE verifier), checks the ID token, finds the account by its verified
/// e-mail address and signs it in (or on to its second step).
#[tracing::instrument(skip_all, fields(client_ip = %meta.client_ip))]
pub(super) async fn callback(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    client: Client,
    Path(id): Path<String>,
    Query(query): Query<CallbackQuery>,
) -> AppResult<Response> {
    // Only a configured provider's name is used from here on (written to the audit trail):
    // an address naming anything else is the unknown provider, whatever bytes it holds.
    let id = provider(&state.config, &id).map_or_else(
        || "(unknown provider)".to_owned(),
        |provider| provider.id.clone(),
    );
    // Until the account is known, failures count against the address only (a key shared
    // by everyone would let one client block single sign-on for all).
    let keys = ThrottleKeys::new(
        &format!("(single sign-on {id} from {})", meta.client_ip),
        &meta.client_ip,
    );
    let blocked = {
        let mut conn = state.pool.acquire().await?;
        throttle::blocked_for(&mut conn, &keys).await?
    };
    if let Some(wait_secs) = blocked {
        let page = login_page(&state, ctx, "/".to_owned(), wait_message(wait_secs)).await?;
        let response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
        return Ok(with_retry_after(response, wait_secs));
    }
    let (identity, next) = match identify(&state, &session, &id, query).await? {
        Ok(found) => found,
        Err(refused) => {
            return refuse(&state, ctx, &meta, &keys, None, &id, refused).await;
        }
    };

    let mut tx = state.pool.begin().await?;
    let candidate = users::repo::find_for_login(&mut tx, &identity.email).await?;
    let account_id = match candidate {
        Some(account) if account.is_active => account.id,
        Some(account) => {
            drop(tx);
            let refused = Refused::new(
                "account deactivated",
                "This account is deactivated. Ask your Quorum administrator.",
            );
            let keys = ThrottleKeys::new(&account.email, &meta.client_ip);
            return refuse(&state, ctx, &meta, &keys, Some(account.id), &id, refused).await;
        }
        None if state.config.sso_create_accounts => {
            create_account(&mut tx, &state.config, &identity, &id, &meta).await?
        }
        None => {
            drop(tx);
            let refused = Refused::new(
                "no account for this e-mail address",
                format!(
                    "There is no Quorum account for {}. Ask your Quorum administrator for one.",
                    identity.email
                ),
            );
            return refuse(&state, ctx, &meta, &keys, None, &id, refused).await;
        }
    };
    if let Some(mapping) = &state.config.sso_role_groups {
        let roles = mapping.roles_of(&identity.groups);
        apply_roles(&mut tx, account_id, &roles, &id, &meta).await?;
    }
    let account = users::repo::find_for_second_step(&mut tx, account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let keys = ThrottleKeys::new(&account.email, &meta.client_ip);
    if two_step::has_second_factor(&mut tx, account.id).await? {
        // The provider proved the e-mail address; Quorum's own second factor follows.
        audit::record(
            &mut tx,
            &Actor::account(account.id, &account.email),
            meta.request_id.as_deref(),
            audit::Entry::new("auth.sso_accepted", "user", Some(account.id.to_string())).after(
                json!({ "provider": id, "client_ip": meta.client_ip, "next_step": "second factor" }),
            ),
        )
        .await?;
        let pending = PendingSecondFactor {
            user_id: account.id,
            epoch: account.session_epoch,
        };
        session.await_second_factor(&mut tx, pending).await?;
        tx.commit().await?;
        return Ok(Redirect::to(&two_step::verify_address(&next)).into_response());
    }
    let sign_in = SignIn {
        config: &state.config,
        account: SignedInAccount {
            id: account.id,
            epoch: account.session_epoch,
            method: SignInMethod::SingleSignOn,
        },
        email: &account.email,
        keys: &keys,
        meta: &meta,
        client: &client,
    };
    complete_sign_in(&mut tx, &session, sign_in).await?;
    if let Some(session_id) = session.id() {
        sqlx::query!(
            "INSERT INTO sso_sessions (session_id, provider) VALUES ($1, $2)",
            session_id,
            id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&next).into_response())
}

/// Everything the provider's answer must pass, up to a verified e-mail address. No
/// transaction is open while the provider is asked.
async fn identify(
    state: &AppState,
    session: &Session,
    id: &str,
    query: CallbackQuery,
) -> AppResult<Result<(Identity, String), Refused>> {
    let Some(provider) = provider(&state.config, id) else {
        return Ok(Err(Refused::new("unknown provider", NOT_SIGNED_IN)));
    };
    let pending = match session.id() {
        Some(session_id) => {
            let mut conn = state.pool.acquire().await?;
            take_pending(&mut conn, session_id, id).await?
        }
        None => None,
    };
    let Some(pending) = pending else {
        return Ok(Err(Refused::new(
            "no single sign-on under way (expired or answered)",
            NOT_SIGNED_IN,
        )));
    };
    let state_matches = query
        .state
        .as_deref()
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(pending.state.as_bytes())));
    if !state_matches {
        return Ok(Err(Refused::new("wrong state", NOT_SIGNED_IN)));
    }
    if let Some(error) = query.error {
        // The provider's words, cleaned before they are stored or shown.
        let error = clean_text(&error).chars().take(100).collect::<String>();
        let detail = clean_text(&query.error_description.unwrap_or_default())
            .chars()
            .take(300)
            .collect::<String>();
        return Ok(Err(Refused::new(
            format!("provider answered {error}: {detail}"),
            format!("{} did not sign you in ({error}).", provider.label),
        )));
    }
    let Some(code) = query.code else {
        return Ok(Err(Refused::new("no code", NOT_SIGNED_IN)));
    };
    let metadata = match discover(provider).await {
        Ok(metadata) => metadata,
        Err(error) => {
            return Ok(Err(Refused::new(
                error,
                format!("{} cannot be reached right now. Try again.", provider.label),
            )));
        }
    };
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect_url(&state.config, provider)?);
    let exchange = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(exchange) => exchange,
        Err(error) => return Ok(Err(Refused::new(error.to_string(), NOT_SIGNED_IN))),
    };
    let http = |request| send(request);
    let tokens = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&http)
        .await
    {
        Ok(tokens) => tokens,
        Err(error) => {
            return Ok(Err(Refused::new(
                format!("code exchange: {error}"),
                NOT_SIGNED_IN,
            )));
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return Ok(Err(Refused::new("no ID token", NOT_SIGNED_IN)));
    };
    let claims = match id_token.claims(&client.id_token_verifier(), &Nonce::new(pending.nonce)) {
        Ok(claims) => claims,
        Err(error) => {
            return Ok(Err(Refused::new(
                format!("ID token: {error}"),
                NOT_SIGNED_IN,
            )));
        }
    };
    let Some(email) = claims.email() else {
        return Ok(Err(Refused::new(
            "no e-mail address in the ID token",
            format!(
                "{} did not give Quorum your e-mail address.",
                provider.label
            ),
        )));
    };
    if claims.email_verified() != Some(true) {
        return Ok(Err(Refused::new(
            "e-mail address not verified",
            format!(
                "{} has not verified your e-mail address, so Quorum cannot tell which \
                 account is yours.",
                provider.label
            ),
        )));
    }
    let name = claims
        .name()
        .and_then(|names| names.get(None))
        .map(|name| name.to_string());
    let identity = Identity {
        email: normalize_email(email),
        name,
        groups: groups_claim(&id_token.to_string()),
    };
    Ok(Ok((identity, pending.next)))
}

/// The `groups` claim of a verified ID token (read from its payload: `openidconnect` keeps
/// only the standard claims).
fn groups_claim(id_token: &str) -> Vec<String> {
    id_token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
        .and_then(|claims| claims.get("groups").cloned())
        .and_then(|groups| serde_json::from_value::<Vec<String>>(groups).ok())
        .unwrap_or_default()
}

/// A refused sign-in: audited and counted against `keys`, then the sign-in page says why.
async fn refuse(
    state: &AppState,
    ctx: PageContext,
    meta: &RequestMeta,
    keys: &ThrottleKeys,
    account_id: Option<i64>,
    provider: &str,
    refused: Refused,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    throttle::record_failure(&mut tx, keys).await?;
    audit::record(
        &mut tx,
        &Actor::anonymous(&format!("single sign-on {provider}")),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "auth.login_failed",
            "user",
            account_id.map(|id| id.to_string()),
        )
        .after(json!({
            "method": "sso", "provider": provider, "reason": refused.reason,
            "client_ip": meta.client_ip,
        })),
    )
    .await?;
    tx.commit().await?;
    let page = login_page(state, ctx, "/".to_owned(), refused.message).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn login_page(
    state: &AppState,
    ctx: PageContext,
    next: String,
    error: String,
) -> AppResult<LoginPage> {
    Ok(LoginPage {
        ctx,
        email: String::new(),
        next,
        error: Some(error),
        passkey_error: None,
        passkey_alone: super::passkey_alone_offered(state).await?,
        sso: buttons(&state.config),
    })
}

/// A first sign-in creates the account (the option is on): roles from the groups when
/// they are mapped, else none; signing in by single sign-on only.
async fn create_account(
    conn: &mut PgConnection,
    config: &ServerConfig,
    identity: &Identity,
    provider: &str,
    meta: &RequestMeta,
) -> AppResult<i64> {
    let roles = config
        .sso_role_groups
        .as_ref()
        .map(|mapping| mapping.roles_of(&identity.groups))
        .unwrap_or_default();
    // No one knows this password: the account signs in through the provider only.
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random source failed");
    let unusable = password::hash(hex::encode(secret)).await?;
    let account = NewAccount {
        email: identity.email.clone(),
        display_name: identity
            .name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| identity.email.clone()),
        password_hash: unusable,
        roles,
        is_chair: false,
    };
    let actor = Actor::anonymous(&format!("single sign-on {provider}"));
    let id = users::create_with_audit(conn, &actor, meta.request_id.as_deref(), &account)
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    users::repo::set_sso_only(conn, id, true).await?;
    Ok(id)
}

/// Gives the account exactly `roles` (the mapped groups), recording a change.
async fn apply_roles(
    conn: &mut PgConnection,
    account_id: i64,
    roles: &[Role],
    provider: &str,
    meta: &RequestMeta,
) -> AppResult<()> {
    let before = users::repo::roles_of(conn, account_id).await?;
    if before == roles {
        return Ok(());
    }
    users::repo::set_roles(conn, account_id, roles).await?;
    let names = |roles: &[Role]| roles.iter().map(|role| role.as_str()).collect::<Vec<_>>();
    audit::record(
        conn,
        &Actor::anonymous(&format!("single sign-on {provider}")),
        meta.request_id.as_deref(),
        audit::Entry::new("user.roles_mapped", "user", Some(account_id.to_string()))
            .before(json!({ "roles": names(&before) }))
            .after(json!({ "roles": names(roles), "from": "groups claim" })),
    )
    .await?;
    Ok(())
}

/// The provider a session signed in through, if it did.
pub async fn provider_of_session(
    conn: &mut PgConnection,
    session_id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT provider FROM sso_sessions WHERE session_id = $1",
        session_id
    )
    .fetch_optional(conn)
    .await
}

/// Where to end the session at the provider too (RP-initiated logout), when it has such
/// an address: back to Quorum's sign-in page afterwards.
pub async fn end_session_url(config: &ServerConfig, provider_id: &str) -> Option<(String, String)> {
    let provider = provider(config, provider_id)?;
    let metadata = discover(provider).await.ok()?;
    let endpoint = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()?;
    let mut url = endpoint.url().clone();
    url.query_pairs_mut()
        .append_pair("client_id", &provider.client_id)
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/login", config.base_url()),
        );
    Some((provider.label.clone(), url.to_string()))
}
