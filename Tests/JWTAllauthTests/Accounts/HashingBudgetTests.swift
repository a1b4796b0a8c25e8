import Foundation
import Testing
@testable import AllauthRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The hashing budget alone: slots shared by every budget opened on one directory (as the workers
/// of a pool open it), a bounded wait, and slots that a dead holder cannot keep.
@Suite(.serialized)
struct HashingBudgetTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hashing-\(UUID().uuidString.prefix(8))").path

    /// Holds one slot of `budget` on another thread for `seconds`; answers once it is held.
    private func hold(_ budget: HashingBudget, for seconds: TimeInterval) -> DispatchGroup {
        let held = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        done.enter()
        Thread {
            _ = try? budget.withSlot { held.signal(); usleep(useconds_t(seconds * 1_000_000)) }
            done.leave()
        }.start()
        held.wait()
        return done
    }

    @Test func budgetsOpenedOnOneDirectoryShareTheirSlots() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SharedHashingBudget(directory: directory, slots: 1, wait: 0.1)
        let second = try SharedHashingBudget(directory: directory, slots: 1, wait: 0.1)
        let done = hold(first, for: 0.6)
        let started = Date()
        #expect(throws: HashingBudgetExhausted.self) { try second.withSlot { } }
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.09 && waited < 0.5, "refused after its wait bound: \(waited) s")
        done.wait()
        #expect(try second.withSlot { 42 } == 42, "free again once the holder is done")
    }

    @Test func aWaiterGetsTheSlotAsSoonAsItIsReleased() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SharedHashingBudget(directory: directory, slots: 2, wait: 5)
        let second = try SharedHashingBudget(directory: directory, slots: 2, wait: 5)
        let one = hold(first, for: 0.4), two = hold(first, for: 0.4)
        let started = Date()
        try second.withSlot { }
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.3 && waited < 2, "waited for a release, not for the bound: \(waited) s")
        one.wait()
        two.wait()
    }

    @Test func aSlotHeldByAKilledProcessIsFreedByTheKernel() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let budget = try SharedHashingBudget(directory: directory, slots: 1, wait: 0.2)
        // Another process takes the slot's lock (util-linux flock, which then execs sleep: the
        // lock stays with that one process) and is killed with -9.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--exclusive", "--no-fork", directory + "/slot-0", "sleep", "30"]
        try holder.run()
        let deadline = Date().addingTimeInterval(10)
        var refused = false
        while !refused && Date() < deadline {
            do { try budget.withSlot { }; usleep(20_000) } catch { refused = true }
        }
        #expect(refused, "the other process held the slot")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let started = Date()
        #expect(try budget.withSlot { true }, "the kernel released the dead holder's lock")
        #expect(Date().timeIntervalSince(started) < 0.2, "at once, not after its own sleep")
    }

    @Test func aSlotHashesAtRaisedPriorityAndGivesItBack() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let budget = try SharedHashingBudget(directory: directory, slots: 1, wait: 1)
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        let before = getpriority(which, 0)
        let inside = try budget.withSlot { getpriority(which, 0) }
        // The tests run as root (CI too), who may lower a nice value.
        #expect(inside == HashingPriority.defaultNice, "nice \(inside) while holding the slot")
        #expect(getpriority(which, 0) == before, "the thread's own nice value afterwards")
    }

    @Test func theLocalBudgetAlsoBoundsItsWait() throws {
        let budget = LocalHashingBudget(slots: 1, wait: 0.1)
        let done = hold(budget, for: 0.5)
        #expect(throws: HashingBudgetExhausted.self) { try budget.withSlot { } }
        done.wait()
        #expect(try budget.withSlot { true })
    }
}
