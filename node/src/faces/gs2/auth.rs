//! Tokens: project tokens (`/identifier/projectToken/login`) and player access tokens
//! (`/auth/login`) are JWTs (HS256, `jsonwebtoken`) signed with a key derived from the project
//! secret by HKDF-SHA256, so every node verifies them without a lookup. The header's `kid`
//! names the secret that signed: tokens signed with a previous secret (`[tokens]
//! previous_client_secrets`) keep verifying while a secret rotates, and new ones are signed with
//! the current secret. Upload tags and download links use HMAC-SHA256 with the same key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use proto::gs2::ChatError;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Project tokens and access tokens live one hour, like GS2's.
pub const TOKEN_TTL_MS: i64 = 3600 * 1000;

/// HKDF inputs: the salt names the product, the infos the key's use.
const HKDF_SALT: &[u8] = b"chat-node";
const KEY_INFO: &[u8] = b"gs2 token key v2";
const KID_INFO: &[u8] = b"gs2 token key id v2";

/// `exp` is milliseconds here and whole seconds in the token (JWT's NumericDate), rounded up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Claims {
    #[serde(rename = "p")]
    Project {
        cid: String,
        #[serde(with = "seconds")]
        exp: i64,
    },
    #[serde(rename = "a")]
    Access {
        uid: String,
        #[serde(with = "seconds")]
        exp: i64,
    },
}

impl Claims {
    fn exp(&self) -> i64 {
        match self {
            Claims::Project { exp, .. } | Claims::Access { exp, .. } => *exp,
        }
    }
}

mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(i64::deserialize(d)?.saturating_mul(1000))
    }
}

/// One secret's keys.
#[derive(Clone)]
struct Key {
    kid: String,
    mac: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Key {
    fn derive(secret: &str) -> Key {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.as_bytes());
        let mut key = [0u8; 32];
        hk.expand(KEY_INFO, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        let mut kid = [0u8; 6];
        hk.expand(KID_INFO, &mut kid)
            .expect("6 bytes is a valid HKDF-SHA256 length");
        Key {
            kid: B64.encode(kid),
            mac: key.to_vec(),
            encoding: EncodingKey::from_secret(&key).expect("an HMAC key of any length"),
            decoding: DecodingKey::from_secret(&key).expect("an HMAC key of any length"),
        }
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.mac).expect("hmac takes any key size");
        mac.update(data);
        mac
    }
}

#[derive(Clone)]
pub struct Tokens {
    /// The current secret's keys first, then the previous secrets'.
    keys: Vec<Key>,
    client_id: String,
    client_secret: String,
}

impl Tokens {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self::rotating(client_id, client_secret, &[])
    }

    /// Signs with `client_secret`; also accepts what `previous` secrets signed.
    pub fn rotating(client_id: &str, client_secret: &str, previous: &[String]) -> Self {
        let keys = std::iter::once(client_secret)
            .chain(previous.iter().map(String::as_str))
            .map(Key::derive)
            .collect();
        Tokens {
            keys,
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
        }
    }

    fn current(&self) -> &Key {
        &self.keys[0]
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let key = self.current();
        let header = Header {
            kid: Some(key.kid.clone()),
            ..Header::new(Algorithm::HS256)
        };
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("HS256 claims always sign")
    }

    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, ChatError> {
        let bad = || ChatError::unauthorized("chat.token.error.invalid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad())?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.iter().find(|k| k.kid == kid))
            .ok_or_else(bad)?;
        // Expiry is checked below against the caller's clock, in milliseconds.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|_| bad())?
            .claims;
        if claims.exp() <= now_ms {
            return Err(ChatError::unauthorized("chat.token.error.expired"));
        }
        Ok(claims)
    }

    /// Checks the project credentials in constant time.
    pub fn check_credentials(&self, client_id: &str, client_secret: &str) -> bool {
        let key = self.current();
        let a = key.mac(format!("{client_id}\0{client_secret}").as_bytes());
        let expected = key
            .mac(format!("{}\0{}", self.client_id, self.client_secret).as_bytes())
            .finalize()
            .into_bytes();
        a.verify_slice(&expected).is_ok()
    }

    /// A short signature binding `what` (upload tokens, download links) to this project.
    pub fn tag(&self, what: &str) -> String {
        let bytes = self.current().mac(what.as_bytes()).finalize().into_bytes();
        B64.encode(&bytes[..16])
    }

    /// Whether `tag` is what [`Tokens::tag`] gives for `what`, with the current or a previous
    /// secret.
    pub fn check_tag(&self, what: &str, tag: &str) -> bool {
        let Ok(given) = B64.decode(tag) else {
            return false;
        };
        given.len() == 16
            && self.keys.iter().any(|k| {
                let full = k.mac(what.as_bytes()).finalize().into_bytes();
                constant_eq(&full[..16], &given)
            })
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The access claims of `uid`, expiring at `exp` (ms).
    pub(super) fn access(uid: &str, exp: i64) -> Claims {
        Claims::Access {
            uid: uid.into(),
            exp,
        }
    }

    #[test]
    fn signed_tokens_verify_and_forgeries_do_not() {
        let t = Tokens::new("id", "secret-secret");
        let tok = t.sign(&access("u1", 2_000));
        assert_eq!(t.verify(&tok, 1_000).unwrap(), access("u1", 2_000));
        assert!(t.verify(&tok, 2_000).is_err(), "expired");
        let other = Tokens::new("id", "another-secret");
        assert!(other.verify(&tok, 1_000).is_err(), "other key");
        let (header, rest) = tok.split_once('.').unwrap();
        let forged = format!("{header}.x{rest}");
        assert!(t.verify(&forged, 1_000).is_err());
        assert!(t.verify("garbage", 1_000).is_err());
        assert!(t.check_credentials("id", "secret-secret"));
        assert!(!t.check_credentials("id", "secret-secreT"));
        let tag = t.tag("upload:x");
        assert!(t.check_tag("upload:x", &tag));
        assert!(!t.check_tag("upload:y", &tag));
    }
}

#[cfg(test)]
mod rotation_tests {
    use super::tests::access;
    use super::*;

    #[test]
    fn tokens_are_hs256_jwts_naming_their_key() {
        let t = Tokens::new("id", "secret-secret");
        let tok = t.sign(&Claims::Project {
            cid: "id".into(),
            exp: 1_500,
        });
        let header = jsonwebtoken::decode_header(&tok).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid.as_deref(), Some(t.current().kid.as_str()));
        // `exp` travels in whole seconds, rounded up.
        let body = tok.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
        assert_eq!(claims["exp"], 2);
        assert_eq!(claims["t"], "p");
    }

    #[test]
    fn a_rotated_secret_keeps_old_tokens_valid_and_signs_new_ones() {
        let old = Tokens::new("id", "old-secret-1");
        let tok = old.sign(&access("u1", 10_000));
        let tag = old.tag("upload:x");
        let rotated = Tokens::rotating("id", "new-secret-2", &["old-secret-1".into()]);
        assert!(rotated.verify(&tok, 1_000).is_ok());
        assert!(rotated.check_tag("upload:x", &tag));
        let fresh = rotated.sign(&access("u1", 10_000));
        assert!(
            old.verify(&fresh, 1_000).is_err(),
            "signed with the new secret"
        );
        let dropped = Tokens::new("id", "new-secret-2");
        assert!(
            dropped.verify(&tok, 1_000).is_err(),
            "old secret no longer accepted"
        );
        assert!(dropped.verify(&fresh, 1_000).is_ok());
    }
}
