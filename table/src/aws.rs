//! The one place that builds the AWS configuration: region, credentials chain and endpoint
//! (`AWS_ENDPOINT_URL`, e.g. LocalStack) all come from the standard chain via `aws-config`.
//!
//! object_store signs its own S3 requests; [`SdkCredentials`] hands it the credentials that the
//! SDK's chain resolves (environment, profiles, SSO, web identity, IMDS, ECS), cached until
//! shortly before they expire.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;
use tokio::sync::Mutex;

/// One attempt of an AWS API call (GetRecords, GetShardIterator, ListShards, DescribeStream)
/// may take this long; then it is abandoned and retried by the SDK's retry policy. The SDK's
/// default has no such limit: a connection that is accepted and never answered (an overloaded
/// endpoint, a half-open connection after a network change) would hold the caller forever, and
/// a shard task waiting on it makes no flush. GetRecords answers within seconds even at its
/// 10 MB maximum.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// A whole call, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Loads the shared AWS configuration from the environment, profile files and instance
/// metadata, with [`ATTEMPT_TIMEOUT`] and [`OPERATION_TIMEOUT`] on every call.
pub async fn load_sdk_config() -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(3100))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// Refresh credentials this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// object_store credentials from the AWS SDK's default chain.
#[derive(Debug)]
pub struct SdkCredentials {
    provider: aws_credential_types::provider::SharedCredentialsProvider,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl SdkCredentials {
    /// `None` when the configuration has no credentials provider at all.
    pub fn from_config(config: &SdkConfig) -> Option<Self> {
        config.credentials_provider().map(|provider| Self {
            provider,
            cached: Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(credential.clone());
            }
        }
        let creds = self.provider.provide_credentials().await.map_err(|e| object_store::Error::Generic {
            store: "S3",
            source: format!("no AWS credentials from the default chain (environment, profile, SSO, instance role): {e}")
                .into(),
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: creds.access_key_id().to_string(),
            secret_key: creds.secret_access_key().to_string(),
            token: creds.session_token().map(str::to_string),
        });
        *cached = Some((credential.clone(), creds.expiry()));
        Ok(credential)
    }
}
