import Atomics
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The pool-wide hashing budget: `slots` lock files in a directory beside the FastCGI socket
/// (`<run dir>/hashing/slot-N`), of which a hash holds one with `flock` for its duration, plus a
/// small mapped file with a process-shared POSIX semaphore that wakes a waiter when a slot frees.
///
/// Hand-written because nothing in the chosen libraries is a cross-process counting semaphore that
/// survives its holder's death: a POSIX semaphore alone leaks the unit of a worker killed with -9
/// mid-hash, forever. Here the ownership is the flock, which the kernel drops when the holder's
/// descriptor closes, death included; the semaphore is only a doorbell, and a waiter also looks
/// again every `recheck` on its own, so a slot freed by a death (no doorbell) is found within that.
/// A slot is locked through a descriptor the acquiring thread opened itself: flock belongs to the
/// open file description, so two threads of one worker exclude each other like two workers do.
public final class SharedHashingBudget: HashingBudget, @unchecked Sendable {
    // @unchecked: the mapping is only used through atomics and sem_* calls, and never unmapped
    // (a worker opens one budget for its lifetime).
    private let slotPaths: [String]
    private let wait: TimeInterval
    private let priority: HashingPriority
    /// Threads of the pool waiting for a slot; a release rings the doorbell only for them, so
    /// posts do not pile up in quiet times and wake later waiters for nothing.
    private let waiters: UnsafeAtomic<Int64>
    private let doorbell: UnsafeMutablePointer<sem_t>
    static let recheck: TimeInterval = 0.025
    private static let magic: UInt64 = 0x3130_4853_4148_574a
    /// magic, waiters, then the semaphore.
    private static let doorbellBytes = 16 + MemoryLayout<sem_t>.size

    /// Opens (creating what is missing) the budget of the pool whose run files are in `directory`.
    package init(directory: String, slots: Int, wait: TimeInterval, priority: HashingPriority = HashingPriority()) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        slotPaths = (0..<slots).map { "\(directory)/slot-\($0)" }
        for path in slotPaths {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw PoolFileError.cannotOpen(path, errno) }
            close(fd)
        }
        self.wait = wait
        self.priority = priority
        let doorbellPath = directory + "/doorbell"
        let base = try PoolFile.map(doorbellPath, bytes: Self.doorbellBytes) { memory in
            sem_init((memory + 16).bindMemory(to: sem_t.self, capacity: 1), 1, 0)
            memory.storeBytes(of: Self.magic, as: UInt64.self)
        }
        guard base.load(as: UInt64.self) == Self.magic else { throw PoolFileError.foreignFile(doorbellPath) }
        waiters = UnsafeAtomic(at: (base + 8).bindMemory(to: UnsafeAtomic<Int64>.Storage.self, capacity: 1))
        doorbell = (base + 16).bindMemory(to: sem_t.self, capacity: 1)
    }

    public func withSlot<T>(_ work: () throws -> T) throws -> T {
        // Raised while waiting too: woken by the doorbell, the thread takes the freed slot at once
        // instead of after the slices of the threads running on its core (an idle slot is lost share).
        try priority.raised {
            let slot = try acquire()
            defer { release(slot) }
            return try work()
        }
    }

    /// A descriptor holding one slot's lock.
    private func acquire() throws(HashingBudgetExhausted) -> Int32 {
        let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
        if let fd = tryAnySlot() { return fd }
        // Counted before the next try: a holder that releases after that try sees us and rings.
        waiters.wrappingIncrement(ordering: .sequentiallyConsistent)
        defer { waiters.wrappingDecrement(ordering: .sequentiallyConsistent) }
        while true {
            if let fd = tryAnySlot() { return fd }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw HashingBudgetExhausted() }
            ringOrTimeout(after: min(remaining, .milliseconds(Int(Self.recheck * 1000))))
        }
    }

    /// One pass over the slots. A slot file is opened only for its try, so a thread never holds
    /// more than one extra descriptor (libfcgi's select() needs a worker below 1024 of them).
    private func tryAnySlot() -> Int32? {
        // Start at a different slot each time, so that no slot file is everyone's first try.
        let start = Int.random(in: 0..<slotPaths.count)
        for offset in 0..<slotPaths.count {
            let fd = open(slotPaths[(start + offset) % slotPaths.count], O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }  // kept open: closing it is the release
            close(fd)
        }
        return nil
    }

    private func release(_ fd: Int32) {
        close(fd)
        var pending: Int32 = 0
        sem_getvalue(doorbell, &pending)
        if Int64(pending) < waiters.load(ordering: .sequentiallyConsistent) { sem_post(doorbell) }
    }

    /// Sleeps until a release rings or `interval` passes. sem_timedwait takes a wall-clock time;
    /// the interval is short and the caller's own deadline is monotonic, so a clock step can only
    /// stretch one such nap.
    private func ringOrTimeout(after interval: Duration) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nanoseconds = Int(now.tv_nsec) + Int(interval.components.attoseconds / 1_000_000_000) + Int(interval.components.seconds) * 1_000_000_000
        var until = timespec(tv_sec: now.tv_sec + nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        while sem_timedwait(doorbell, &until) != 0 && errno == EINTR {}
    }
}
