//! Image bytes, content-addressed, in an object store (the `object_store`
//! crate): a local folder for one node, S3-compatible storage for several
//! instances. The database keeps only metadata (hash, format, size), so a
//! store engine never carries image bytes.
//!
//! A blob's key is its SHA-256 (`sha256/ab/abcdef…`): the same file
//! uploaded twice is one object, a write is idempotent (same key, same
//! bytes), and a read is verified against its key, so a damaged or
//! substituted object is refused rather than shown to a reviewer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::domain::imaging::{Format, Sniffed, sniff};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store address {0:?}: {1}")]
    Config(String, String),
    #[error("blob {0} is missing from the blob store")]
    Missing(String),
    #[error("blob {sha256} is damaged: {detail}")]
    Damaged { sha256: String, detail: String },
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob store folder: {0}")]
    Io(#[from] std::io::Error),
}

/// An image's bytes, checked against the hash and format the database
/// recorded for them.
#[derive(Debug, Clone)]
pub struct Blob {
    pub format: Format,
    pub sha256: String,
    pub bytes: Bytes,
}

/// Where the blobs are, and a client for it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Said at start-up and in errors: `file:///…` or `s3://bucket/prefix`.
    describe: String,
}

impl Blobs {
    /// A folder on this machine (created if absent).
    pub fn local(dir: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        let store = LocalFileSystem::new_with_prefix(&dir)?;
        Ok(Blobs {
            store: Arc::new(store),
            describe: format!("file://{}", dir.display()),
        })
    }

    /// `s3://bucket[/prefix]` with credentials, region and endpoint from
    /// the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP` for a plain-http
    /// endpoint such as a test server), `file:///dir`, or a plain path.
    pub fn from_address(address: &str) -> Result<Blobs, BlobError> {
        if let Some(rest) = address.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BlobError::Config(
                    address.into(),
                    "no bucket: write s3://BUCKET[/prefix]".into(),
                ));
            }
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| BlobError::Config(address.into(), e.to_string()))?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            };
            return Ok(Blobs {
                store,
                describe: format!("s3://{bucket}/{prefix}"),
            });
        }
        if let Some(path) = address.strip_prefix("file://") {
            return Blobs::local(Path::new(path));
        }
        if address.contains("://") {
            return Err(BlobError::Config(
                address.into(),
                "only s3:// and file:// (or a folder path) are supported".into(),
            ));
        }
        Blobs::local(Path::new(address))
    }

    /// The default beside a SQLite database: `shenhe.db` → `shenhe.blobs/`.
    pub fn beside(db: &Path) -> PathBuf {
        db.with_extension("blobs")
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    fn key(sha256: &str) -> ObjPath {
        let shard = sha256.get(..2).unwrap_or("xx");
        ObjPath::from(format!("sha256/{shard}/{sha256}"))
    }

    /// Store `bytes` under their hash (which the caller computed and the
    /// database will record). Skips the write when the object is there.
    pub async fn put(&self, sha256: &str, bytes: Bytes) -> Result<(), BlobError> {
        let key = Blobs::key(sha256);
        match self.store.head(&key).await {
            Ok(meta) if meta.size == bytes.len() as u64 => return Ok(()),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.store.put(&key, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// The bytes of `sha256`, verified: their hash, and that they are the
    /// `format` the database says.
    pub async fn get(&self, sha256: &str, format: Format) -> Result<Blob, BlobError> {
        let got = match self.store.get(&Blobs::key(sha256)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BlobError::Missing(sha256.into()));
            }
            Err(e) => return Err(e.into()),
        };
        let bytes = got.bytes().await?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(BlobError::Damaged {
                sha256: sha256.into(),
                detail: format!("its bytes hash to {actual}"),
            });
        }
        match sniff(&bytes) {
            Sniffed::Accepted(f) if f == format => Ok(Blob {
                format,
                sha256: sha256.into(),
                bytes,
            }),
            _ => Err(BlobError::Damaged {
                sha256: sha256.into(),
                detail: format!("not a {}", format.as_str()),
            }),
        }
    }

    /// Whether the object exists (for checks and tools).
    pub async fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        match self.store.head(&Blobs::key(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 10, 10]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    }

    #[tokio::test]
    async fn a_blob_round_trips_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = Blobs::local(&dir.path().join("b")).expect("blobs");
        let bytes = png();
        let sha = hex::encode(Sha256::digest(&bytes));
        assert!(!blobs.contains(&sha).await.expect("head"));
        blobs
            .put(&sha, Bytes::from(bytes.clone()))
            .await
            .expect("put");
        blobs
            .put(&sha, Bytes::from(bytes.clone()))
            .await
            .expect("again");
        let got = blobs.get(&sha, Format::Png).await.expect("get");
        assert_eq!(&got.bytes[..], &bytes[..]);
        assert!(matches!(
            blobs.get(&sha, Format::Jpeg).await,
            Err(BlobError::Damaged { .. })
        ));
        // Substituted bytes under the key: refused by their hash.
        let path = dir.path().join("b/sha256").join(&sha[..2]).join(&sha);
        std::fs::write(&path, b"not the image").expect("overwrite");
        assert!(matches!(
            blobs.get(&sha, Format::Png).await,
            Err(BlobError::Damaged { .. })
        ));
        assert!(matches!(
            blobs.get(&"0".repeat(64), Format::Png).await,
            Err(BlobError::Missing(_))
        ));
    }

    #[test]
    fn addresses_are_read_or_refused_clearly() {
        assert!(matches!(
            Blobs::from_address("gs://bucket"),
            Err(BlobError::Config(..))
        ));
        assert!(matches!(
            Blobs::from_address("s3://"),
            Err(BlobError::Config(..))
        ));
        let dir = tempfile::tempdir().expect("dir");
        let b = Blobs::from_address(&format!("file://{}", dir.path().display())).expect("file");
        assert!(b.describe().starts_with("file:///"));
        assert_eq!(
            Blobs::beside(Path::new("/x/shenhe.db")),
            PathBuf::from("/x/shenhe.blobs")
        );
    }
}
