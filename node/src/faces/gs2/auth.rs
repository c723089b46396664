//! Tokens: project tokens (`/identifier/projectToken/login`) and player access tokens
//! (`/auth/login`), HMAC-SHA256 signed with a key derived from the project secret, so every
//! node verifies them without a lookup. Format: `base64url(claims JSON).base64url(mac)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use proto::gs2::ChatError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Project tokens and access tokens live one hour, like GS2's.
pub const TOKEN_TTL_MS: i64 = 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Claims {
    #[serde(rename = "p")]
    Project { cid: String, exp: i64 },
    #[serde(rename = "a")]
    Access { uid: String, exp: i64 },
}

impl Claims {
    fn exp(&self) -> i64 {
        match self {
            Claims::Project { exp, .. } | Claims::Access { exp, .. } => *exp,
        }
    }
}

#[derive(Clone)]
pub struct Tokens {
    key: Vec<u8>,
    client_id: String,
    client_secret: String,
}

impl Tokens {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        let key = Sha256::new()
            .chain_update(b"chat-token-key-v1\0")
            .chain_update(client_secret.as_bytes())
            .finalize()
            .to_vec();
        Tokens {
            key,
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
        }
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("hmac takes any key size");
        mac.update(data);
        mac
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let body = B64.encode(serde_json::to_vec(claims).expect("claims encode"));
        let tag = B64.encode(self.mac(body.as_bytes()).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, ChatError> {
        let bad = || ChatError::unauthorized("chat.token.error.invalid");
        let (body, tag) = token.split_once('.').ok_or_else(bad)?;
        let tag = B64.decode(tag).map_err(|_| bad())?;
        self.mac(body.as_bytes())
            .verify_slice(&tag)
            .map_err(|_| bad())?;
        let claims: Claims =
            serde_json::from_slice(&B64.decode(body).map_err(|_| bad())?).map_err(|_| bad())?;
        if claims.exp() <= now_ms {
            return Err(ChatError::unauthorized("chat.token.error.expired"));
        }
        Ok(claims)
    }

    /// Checks the project credentials in constant time.
    pub fn check_credentials(&self, client_id: &str, client_secret: &str) -> bool {
        let a = self.mac(format!("{client_id}\0{client_secret}").as_bytes());
        let expected = self
            .mac(format!("{}\0{}", self.client_id, self.client_secret).as_bytes())
            .finalize()
            .into_bytes();
        a.verify_slice(&expected).is_ok()
    }

    /// A short signature binding `what` (upload tokens, download links) to this project.
    pub fn tag(&self, what: &str) -> String {
        let bytes = self.mac(what.as_bytes()).finalize().into_bytes();
        B64.encode(&bytes[..16])
    }

    pub fn check_tag(&self, what: &str, tag: &str) -> bool {
        let Ok(given) = B64.decode(tag) else {
            return false;
        };
        let full = self.mac(what.as_bytes()).finalize().into_bytes();
        given.len() == 16 && constant_eq(&full[..16], &given)
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_forgeries_do_not() {
        let t = Tokens::new("id", "secret-secret");
        let tok = t.sign(&Claims::Access {
            uid: "u1".into(),
            exp: 2_000,
        });
        assert_eq!(
            t.verify(&tok, 1_000).unwrap(),
            Claims::Access {
                uid: "u1".into(),
                exp: 2_000
            }
        );
        assert!(t.verify(&tok, 2_000).is_err(), "expired");
        let other = Tokens::new("id", "another-secret");
        assert!(other.verify(&tok, 1_000).is_err(), "other key");
        let (body, tag) = tok.split_once('.').unwrap();
        let forged = format!("{}x.{tag}", body);
        assert!(t.verify(&forged, 1_000).is_err());
        assert!(t.verify("garbage", 1_000).is_err());
        assert!(t.check_credentials("id", "secret-secret"));
        assert!(!t.check_credentials("id", "secret-secreT"));
        let tag = t.tag("upload:x");
        assert!(t.check_tag("upload:x", &tag));
        assert!(!t.check_tag("upload:y", &tag));
    }
}
