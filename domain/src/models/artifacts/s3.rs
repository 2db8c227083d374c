//! Model files in S3-compatible object storage (`models.store = "s3"`), through the
//! `object_store` crate: one object per file at `<prefix>/<key>/<name>`, its SHA-256 in
//! the object's own metadata (`x-amz-meta-sha256`), so data and checksum are written
//! and replaced together.

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};
use secrecy::{ExposeSecret, SecretString};
use tenants::TenantCtx;

use super::{ModelStore, check_path, sha256_hex, verified};
use crate::error::{DomainError, Result};

/// The metadata entry that carries a file's checksum.
const CHECKSUM: &str = "sha256";

/// `models.s3.*`.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Empty: AWS itself; otherwise the URL of an S3-compatible service.
    pub endpoint: String,
    pub region: String,
    /// Prepended to every object's name, so one bucket can hold several deployments.
    pub prefix: String,
    pub access_key_id: SecretString,
    pub secret_access_key: SecretString,
    /// Allows an `http://` endpoint (a service on the same host or network).
    pub allow_http: bool,
}

pub struct S3Store {
    bucket: AmazonS3,
    prefix: String,
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Result<Self> {
        if settings.bucket.trim().is_empty() {
            return Err(DomainError::invalid("models.s3.bucket", "name the bucket that holds model files"));
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(settings.bucket.trim())
            .with_region(if settings.region.is_empty() { "us-east-1" } else { settings.region.as_str() })
            .with_allow_http(settings.allow_http);
        if !settings.endpoint.is_empty() {
            // Path-style requests: what S3-compatible services answer on one host name.
            builder = builder.with_endpoint(settings.endpoint.trim()).with_virtual_hosted_style_request(false);
        }
        let key_id = settings.access_key_id.expose_secret();
        if !key_id.is_empty() {
            builder =
                builder.with_access_key_id(key_id).with_secret_access_key(settings.secret_access_key.expose_secret());
        }
        let bucket = builder.build().map_err(|e| DomainError::invalid("models.s3", e.to_string()))?;
        Ok(Self { bucket, prefix: settings.prefix.trim_matches('/').to_owned() })
    }

    fn path(&self, key: &str, name: Option<&str>) -> Result<Path> {
        check_path(key, name.unwrap_or("x"))?;
        let mut parts: Vec<&str> = Vec::with_capacity(3);
        if !self.prefix.is_empty() {
            parts.push(&self.prefix);
        }
        parts.push(key);
        parts.extend(name);
        Path::parse(parts.join("/")).map_err(|e| DomainError::internal_from("model file path", e))
    }
}

fn storage_error(what: &str, e: object_store::Error) -> DomainError {
    DomainError::internal_from(format!("model store (S3): {what}"), e)
}

#[async_trait::async_trait]
impl ModelStore for S3Store {
    async fn put(&self, _ctx: &TenantCtx, key: &str, files: Vec<(&'static str, Vec<u8>)>) -> Result<()> {
        for (name, bytes) in files {
            let path = self.path(key, Some(name))?;
            let attributes = Attributes::from_iter([(Attribute::Metadata(CHECKSUM.into()), sha256_hex(&bytes))]);
            let options = PutOptions { attributes, ..Default::default() };
            self.bucket
                .put_opts(&path, PutPayload::from(bytes), options)
                .await
                .map_err(|e| storage_error("write", e))?;
        }
        Ok(())
    }

    async fn get(&self, _ctx: &TenantCtx, key: &str, name: &str) -> Result<Vec<u8>> {
        let path = self.path(key, Some(name))?;
        let found = self.bucket.get(&path).await.map_err(|e| storage_error("read", e))?;
        let expected = found.attributes.get(&Attribute::Metadata(CHECKSUM.into())).map(|v| v.to_string());
        let bytes = found.bytes().await.map_err(|e| storage_error("read", e))?.to_vec();
        // Every object this store writes has one: an object without it was not written here.
        let expected = expected.unwrap_or_default();
        verified(key, name, bytes, &expected)
    }

    async fn delete(&self, _ctx: &TenantCtx, key: &str) -> Result<()> {
        let dir = self.path(key, None)?;
        let objects: Vec<Path> = self
            .bucket
            .list(Some(&dir))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| storage_error("list", e))?;
        for path in objects {
            match self.bucket.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_error("delete", e)),
            }
        }
        Ok(())
    }

    async fn check(&self) -> Result<()> {
        let dir = Path::parse(&self.prefix).map_err(|e| DomainError::internal_from("model file path", e))?;
        self.bucket.list_with_delimiter(Some(&dir)).await.map_err(|e| storage_error("list", e))?;
        Ok(())
    }
}
