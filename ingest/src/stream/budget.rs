//! The worker's buffer budget (`--max-buffer-bytes`): every shard's buffer and every recovery
//! holds permits for the memory it uses, in KiB, and gives them back when its files are
//! written. Readers that find the budget used up flush early, then wait; recoveries take turns,
//! so a restart after an OOM kill does not rebuild every claimed shard's pending flush at once.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// What the buffers of one worker may hold together.
#[derive(Clone, Debug)]
pub struct Budget {
    permits: Arc<Semaphore>,
    kib: u32,
    /// One recovery at a time: a replay cannot flush early, so two could wait on each other.
    recoveries: Arc<Mutex<()>>,
}

impl Budget {
    pub fn new(bytes: usize) -> Self {
        let kib = u32::try_from(bytes / 1024).unwrap_or(u32::MAX).max(1);
        Self {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
            recoveries: Arc::new(Mutex::new(())),
        }
    }

    /// The permits `bytes` need: at least one, at most the whole budget (so a single chunk
    /// larger than the budget waits for all of it instead of forever).
    fn kib_for(&self, bytes: usize) -> u32 {
        u32::try_from(bytes / 1024)
            .unwrap_or(u32::MAX)
            .saturating_add(1)
            .min(self.kib)
    }

    /// Permits for `bytes` if they are free now.
    pub fn try_reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        self.permits
            .clone()
            .try_acquire_many_owned(self.kib_for(bytes))
            .ok()
    }

    /// Permits for `bytes`, once they are free.
    pub async fn reserve(&self, bytes: usize) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_many_owned(self.kib_for(bytes))
            .await
            .expect("the budget is never closed")
    }

    /// Permits for `bytes` more, for a holder that already has `held`: never more than the
    /// budget in all, so a holder cannot wait on itself.
    pub async fn reserve_more(
        &self,
        bytes: usize,
        held: &Option<OwnedSemaphorePermit>,
    ) -> Option<OwnedSemaphorePermit> {
        let held = held.as_ref().map_or(0, |p| p.num_permits() as u32);
        let kib = self.kib_for(bytes).min(self.kib - held.min(self.kib));
        if kib == 0 {
            return None;
        }
        Some(
            self.permits
                .clone()
                .acquire_many_owned(kib)
                .await
                .expect("the budget is never closed"),
        )
    }

    /// This recovery's turn; held until the guard is dropped.
    pub async fn recovery_turn(&self) -> OwnedMutexGuard<()> {
        self.recoveries.clone().lock_owned().await
    }

    /// KiB not reserved now.
    pub fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }

    pub fn total_kib(&self) -> u32 {
        self.kib
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_are_bounded_by_the_budget() {
        let budget = Budget::new(64 << 10);
        assert_eq!(budget.total_kib(), 64);
        let a = budget.try_reserve(40 << 10).unwrap();
        assert!(budget.try_reserve(40 << 10).is_none(), "only 23 KiB left");
        // a holder asking for more than the budget gets what is left of it, never waits on itself
        let held = Some(a);
        let more = budget.reserve_more(1 << 30, &held).await.unwrap();
        assert_eq!(more.num_permits(), 23);
        assert_eq!(budget.available_kib(), 0);
        drop((held, more));
        assert_eq!(budget.available_kib(), 64);
        // a single request larger than the budget waits for all of it
        assert_eq!(budget.reserve(usize::MAX).await.num_permits(), 64);
    }
}
