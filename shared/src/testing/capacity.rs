//! What a flow costs in DynamoDB request units, the figures of the README's cost model
//! (issue 17): an interceptor on a test app's client that asks DynamoDB for each request's
//! consumed capacity (`ReturnConsumedCapacity=INDEXES`, set on the operation's input before it
//! is serialised) and sums what the answers report. DynamoDB Local computes the units as
//! DynamoDB does from item sizes: a read unit per 4 KB read strongly, a write unit per 1 KB
//! written, twice that in a transaction, and each index write on top.
//!
//! Inactive until `start`: other tests send exactly what production sends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    scan::{ScanInput, ScanOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Request units consumed since the last `take`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Units {
    /// Read request units (gets, queries, scans).
    pub read: f64,
    /// Write request units (puts, updates, deletes, transactions), index writes included.
    pub write: f64,
    /// The part of `write` spent on global secondary indexes, by `table.index`.
    pub index_write: std::collections::BTreeMap<String, f64>,
    /// Requests answered.
    pub requests: usize,
    /// Conditional writes refused by their condition: DynamoDB bills them as writes, but its
    /// answer (an error) reports no capacity; counted here, and at least one unit each.
    pub refused_writes: usize,
}

#[derive(Clone, Debug, Default)]
pub struct CapacityProbe {
    active: Arc<AtomicBool>,
    units: Arc<Mutex<Units>>,
}

impl CapacityProbe {
    /// From now on, every request asks for its consumed capacity and it is summed.
    pub fn start(&self) {
        self.take();
        self.active.store(true, Ordering::SeqCst);
    }

    /// What was consumed since `start` or the last `take`; the sum starts afresh.
    pub fn take(&self) -> Units {
        std::mem::take(&mut *self.units.lock().expect("capacity record"))
    }
}

macro_rules! ask_capacity {
    ($input:expr, $($ty:ty),*) => {$(
        if let Some(input) = $input.downcast_mut::<$ty>() {
            input.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
        }
    )*};
}

/// The capacity reports of one answer, and whether it was a write.
fn reported(
    output: &aws_smithy_runtime_api::client::interceptors::context::Output,
) -> (Vec<&ConsumedCapacity>, bool) {
    macro_rules! one {
        ($($ty:ty => $write:expr),*) => {$(
            if let Some(o) = output.downcast_ref::<$ty>() {
                return (o.consumed_capacity().into_iter().collect(), $write);
            }
        )*};
    }
    macro_rules! many {
        ($($ty:ty => $write:expr),*) => {$(
            if let Some(o) = output.downcast_ref::<$ty>() {
                return (o.consumed_capacity().iter().collect(), $write);
            }
        )*};
    }
    one!(GetItemOutput => false, QueryOutput => false, ScanOutput => false,
         PutItemOutput => true, UpdateItemOutput => true, DeleteItemOutput => true);
    many!(BatchGetItemOutput => false, TransactWriteItemsOutput => true,
          BatchWriteItemOutput => true);
    (vec![], false)
}

impl Intercept for CapacityProbe {
    fn name(&self) -> &'static str {
        "CapacityProbe"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.active.load(Ordering::SeqCst) {
            return Ok(());
        }
        let input = context.input_mut();
        ask_capacity!(
            input,
            GetItemInput,
            QueryInput,
            ScanInput,
            BatchGetItemInput,
            PutItemInput,
            UpdateItemInput,
            DeleteItemInput,
            TransactWriteItemsInput,
            BatchWriteItemInput
        );
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.active.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut units = self.units.lock().expect("capacity record");
        match context.output_or_error() {
            Some(Ok(output)) => {
                let (reports, write) = reported(output);
                for c in reports {
                    let total = c.capacity_units.unwrap_or(0.0);
                    if !write {
                        units.read += total;
                        continue;
                    }
                    units.write += total;
                    // Test tables are named `<prefix>-members`, `<prefix>-sessions`, …
                    let table = c.table_name().unwrap_or_default();
                    let table = table.rsplit('-').next().unwrap_or(table);
                    for (index, used) in c.global_secondary_indexes().into_iter().flatten() {
                        *units
                            .index_write
                            .entry(format!("{table}.{index}"))
                            .or_default() += used.capacity_units.unwrap_or(0.0);
                    }
                }
                units.requests += 1;
            }
            Some(Err(error)) => {
                // A refused condition is the one error billed as the write it would have been.
                let refused = error.as_operation_error().is_some_and(|e| {
                    crate::dynamo::caused_by::<ConditionalCheckFailedException>(e)
                });
                units.requests += 1;
                if refused {
                    units.refused_writes += 1;
                    units.write += 1.0;
                }
            }
            None => {}
        }
        Ok(())
    }
}
