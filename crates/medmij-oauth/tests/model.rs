//! Issue 3, item 4: the proptest state-machine test against the in-memory store. The model is
//! in `common/model.rs`.

mod common;
use common::model::{op, run};
use medmij_oauth::MemoryStore;
use proptest::prelude::*;

proptest! {
    #[test]
    fn as_matches_reference_model(ops in prop::collection::vec(op(), 1..120), seed in any::<u64>()) {
        run(MemoryStore::new(), ops, seed)?;
    }
}
