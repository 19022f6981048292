//! Shared test harness: a simulator served on 127.0.0.1:0 and an HTTP client for it.
#![allow(dead_code)]

use psn_sim::{Sim, SimConfig, SimServer, SIM_LEGACY_TOKEN, SIM_NPSSO};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

pub const CLIENT_AUTHORIZATION: &str =
    "Basic MDk1MTUxNTktNzIzNy00MzcwLTliNDAtMzgwNmU2N2MwODkxOnVjUGprYTV0bnRCMktxc1A=";
pub const AUTHORIZE_QUERY: &str = "access_type=offline&client_id=09515159-7237-4370-9b40-3806e67c0891&redirect_uri=com.scee.psxandroid.scecompcall%3A%2F%2Fredirect&response_type=code&scope=psn%3Amobile.v2.core+psn%3Aclientapp";

pub struct Harness {
    pub sim: Sim,
    pub server: SimServer,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Harness {
    pub async fn start(config: SimConfig) -> Harness {
        let sim = Sim::new(config);
        let server = sim
            .serve("127.0.0.1:0".parse().expect("literal address"))
            .await
            .expect("bind 127.0.0.1:0");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Harness { sim, server, http }
    }

    pub async fn default() -> Harness {
        Self::start(SimConfig::default()).await
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.server.base_url, path_and_query)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// GET with a bearer token.
    pub async fn get_with(&self, token: &str, path_and_query: &str) -> Reply {
        self.send(self.http.get(self.url(path_and_query)).bearer_auth(token))
            .await
    }

    /// GET with the legacy bearer.
    pub async fn get(&self, path_and_query: &str) -> Reply {
        self.get_with(SIM_LEGACY_TOKEN, path_and_query).await
    }

    pub async fn post_control(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    /// NPSSO → authorization code (from the 302 Location).
    pub async fn authorize(&self, npsso: &str) -> Reply {
        let url = self.url(&format!("/api/authz/v3/oauth/authorize?{AUTHORIZE_QUERY}"));
        self.send(
            self.http
                .get(url)
                .header("Cookie", format!("npsso={npsso}")),
        )
        .await
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Reply {
        self.send(
            self.http
                .post(self.url("/api/authz/v3/oauth/token"))
                .header("Authorization", CLIENT_AUTHORIZATION)
                .form(form),
        )
        .await
    }

    /// The code from a successful authorize answer.
    pub fn code_of(reply: &Reply) -> String {
        let location = reply
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location header");
        let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {location}"))
    }

    /// The full login: returns the token response body.
    pub async fn login(&self) -> Value {
        self.login_as(SIM_NPSSO).await
    }

    /// The full login with `npsso` (one of the simulator's credentials).
    pub async fn login_as(&self, npsso: &str) -> Value {
        let authorize = self.authorize(npsso).await;
        assert_eq!(authorize.status, StatusCode::FOUND);
        let code = Self::code_of(&authorize);
        let token = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "com.scee.psxandroid.scecompcall://redirect"),
                ("token_format", "jwt"),
            ])
            .await;
        assert_eq!(token.status, StatusCode::OK, "{}", token.text);
        token.body
    }

    pub fn account(&self, online_id: &str) -> String {
        self.sim
            .account_id(online_id)
            .unwrap_or_else(|| panic!("{online_id} exists"))
    }

    /// Every title of a user (modern API), most recent first.
    pub async fn titles(&self, account: &str) -> Vec<Value> {
        let reply = self
            .get(&format!(
                "/api/trophy/v1/users/{account}/trophyTitles?limit=800"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["trophyTitles"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

pub fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}
