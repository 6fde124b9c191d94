//! The server's allocator: mimalloc, counted, so `used_memory` (INFO) and `maxmemory` read how
//! many bytes the process holds allocated, as Redis's zmalloc counts them.
//!
//! Why mimalloc: the WAL writer thread frees what connection threads allocated (each entry's
//! effects), which glibc's malloc serves slowly; mimalloc's thread-local free lists do not.
//!
//! Why counted this way: one shared atomic updated on every allocation would bounce its cache
//! line between the cores on the hot path. Each thread keeps its own running difference and
//! adds it to the shared total once it passes [`FLUSH_AT`] bytes either way, so the total is
//! exact to within `FLUSH_AT` per thread; [`used_memory`] adds the calling thread's part, so
//! the thread that evicts sees its own frees at once. What a thread held when it exits stays
//! in the total (its frees are counted by whoever frees).
//!
//! Only the `vaylix` binary installs it (`#[global_allocator]` in `main.rs`); elsewhere (unit
//! tests, other binaries) [`used_memory`] reads 0.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A thread's pending difference is added to the total past this many bytes either way.
const FLUSH_AT: i64 = 64 * 1024;

static TOTAL: AtomicI64 = AtomicI64::new(0);

thread_local! {
    // Const-initialised and without a destructor: usable from inside the allocator.
    static PENDING: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    // `try_with` only fails while the thread is being torn down; that count goes straight in.
    let flushed = PENDING.try_with(|p| {
        let v = p.get() + delta;
        if (-FLUSH_AT..=FLUSH_AT).contains(&v) {
            p.set(v);
        } else {
            p.set(0);
            TOTAL.fetch_add(v, Ordering::Relaxed);
        }
    });
    if flushed.is_err() {
        TOTAL.fetch_add(delta, Ordering::Relaxed);
    }
}

static PEAK: AtomicU64 = AtomicU64::new(0);
static STARTUP: AtomicU64 = AtomicU64::new(0);

/// Bytes allocated through [`Counting`] and not yet freed (0 where it is not installed).
pub fn used_memory() -> u64 {
    let mine = PENDING.try_with(Cell::get).unwrap_or(0);
    u64::try_from(TOTAL.load(Ordering::Relaxed) + mine).unwrap_or(0)
}

/// The largest [`used_memory`] seen by [`note_peak`] (the server's cron and INFO call it).
pub fn peak() -> u64 {
    PEAK.load(Ordering::Relaxed)
}

/// Notes the current use for [`peak`] and returns it.
pub fn note_peak() -> u64 {
    let used = used_memory();
    PEAK.fetch_max(used, Ordering::Relaxed);
    used
}

/// Records the use once the server is ready, before any client (INFO used_memory_startup).
pub fn note_startup() {
    STARTUP.store(used_memory(), Ordering::Relaxed);
}

pub fn startup() -> u64 {
    STARTUP.load(Ordering::Relaxed)
}

/// `mimalloc-<major>.<minor>.<patch>` (INFO mem_allocator).
pub fn allocator_name() -> String {
    let v = mimalloc::MiMalloc.version();
    // major ‖ two digits minor ‖ two digits patch (MI_MALLOC_VERSION).
    format!("mimalloc-{}.{}.{}", v / 10_000, (v / 100) % 100, v % 100)
}

/// mimalloc with every allocation counted (see the module documentation).
pub struct Counting;

// SAFETY: every call is forwarded unchanged to mimalloc, which upholds GlobalAlloc's contract;
// the counting touches only a thread-local cell and an atomic, and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { mimalloc::MiMalloc.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) };
        count(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        p
    }
}
