//! The compensate-delete step: after a failed transaction, delete exactly the objects it wrote
//! that edx-val does not reference, so S3 is as it was before the transaction.

use sqlx::AnyPool;

use crate::stores::edxval;
use crate::stores::s3::TranscriptBucket;

/// Deletes each key unless an edx-val row references it; returns the keys deleted. A key of
/// another shape than the migration's own was never written by it and is left alone.
pub async fn compensate(bucket: &TranscriptBucket, edxval: &AnyPool, keys: &[String]) -> Result<Vec<String>, String> {
    let mut deleted = Vec::new();
    for key in keys.iter().filter(|key| bucket.is_ours(key)) {
        let mut conn = edxval.acquire().await.map_err(|e| format!("edx-val: {e}"))?;
        let referenced = edxval::names_object(&mut conn, key).await.map_err(|e| format!("edx-val: {e}"))?;
        drop(conn);
        if !referenced {
            bucket.delete(key).await.map_err(|e| e.to_string())?;
            deleted.push(key.clone());
        }
    }
    Ok(deleted)
}
