//! Creating the table where nothing else does: the local stack, the demo and the tests
//! (in AWS, the SAM template creates it). It is built from [`table::table_definition`],
//! the same definition a test checks against `infra/template.yaml`, so the table the
//! tests run against is the one that is deployed.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType as AwsKeyType, Projection as AwsProjection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::{aws, build_error, Store, StoreError};
use crate::table::{self, KeyType, Projection};

impl Store {
    /// Create the table from [`table::table_definition`] (local stack and tests; in AWS
    /// the SAM template creates it). Returns Ok if it already exists.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let def = table::table_definition();
        let scalar = |t: KeyType| match t {
            KeyType::S => ScalarAttributeType::S,
            KeyType::N => ScalarAttributeType::N,
        };
        let key = |name: &str, kind: AwsKeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_error)
        };
        let mut attrs: Vec<(&str, KeyType)> = vec![def.hash, def.range];
        for i in &def.indexes {
            attrs.push(i.hash);
            attrs.push(i.range);
        }
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(def.stream_view_type))
                    .build()
                    .map_err(build_error)?,
            )
            .key_schema(key(def.hash.0, AwsKeyType::Hash)?)
            .key_schema(key(def.range.0, AwsKeyType::Range)?);
        for (name, ty) in attrs {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(scalar(ty))
                    .build()
                    .map_err(build_error)?,
            );
        }
        for i in &def.indexes {
            let projection = match &i.projection {
                Projection::All => AwsProjection::builder().projection_type(ProjectionType::All),
                Projection::KeysOnly => {
                    AwsProjection::builder().projection_type(ProjectionType::KeysOnly)
                }
                Projection::Include(attrs) => attrs.iter().fold(
                    AwsProjection::builder().projection_type(ProjectionType::Include),
                    |b, a| b.non_key_attributes(*a),
                ),
            };
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(i.name)
                    .key_schema(key(i.hash.0, AwsKeyType::Hash)?)
                    .key_schema(key(i.range.0, AwsKeyType::Range)?)
                    .projection(projection.build())
                    .build()
                    .map_err(build_error)?,
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(())
            }
            Err(e) => return Err(aws(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(def.ttl_attribute)
                    .enabled(true)
                    .build()
                    .map_err(build_error)?,
            )
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }
}
