import Foundation
import Testing
@testable import FastCGI

/// The gate's accounting: however turns are lent and paid back, as many threads run as there are
/// turns once every long wait is over.
@Suite struct RunnerGateTests {
    /// Calls `take` on a new thread; `got` is signalled once it returns.
    private func take(_ turn: RunnerGate.Turn) -> DispatchSemaphore {
        let got = DispatchSemaphore(value: 0)
        // A Turn belongs to one thread; here the test hands it over and does not touch it meanwhile.
        nonisolated(unsafe) let handedOver = turn
        Thread { handedOver.take(); got.signal() }.start()
        return got
    }

    private func within(_ seconds: Double, _ got: DispatchSemaphore) -> Bool {
        got.wait(timeout: .now() + seconds) == .success
    }

    @Test func aYieldedTurnGoesToAWaitingThread() {
        let gate = RunnerGate(turns: 1)
        let runner = RunnerGate.Turn(gate: gate, sweeper: false), other = RunnerGate.Turn(gate: gate, sweeper: false)
        runner.take()
        let otherGot = take(other)
        #expect(!within(0.1, otherGot), "one turn, held")
        runner.take()  // a thread keeps its turn from one request to the next
        runner.yield()
        #expect(within(1, otherGot))
    }

    @Test func theSweeperLendsATurnWhileItWaitsAndARunnerPaysItBack() {
        let gate = RunnerGate(turns: 1)
        let runner = RunnerGate.Turn(gate: gate, sweeper: false), other = RunnerGate.Turn(gate: gate, sweeper: false)
        let sweeper = RunnerGate.Turn(gate: gate, sweeper: true)
        runner.take()
        let otherGot = take(other)
        #expect(!within(0.1, otherGot), "one turn, the runner's")
        sweeper.yield()  // the sweeper's long wait: its turn is lent
        #expect(within(1, otherGot), "the lent turn lets a second thread run")
        sweeper.take()  // back from the wait: both turns are held, so a debt
        let runnerGot = take(runner)  // the runner's next request: it pays the debt and waits
        #expect(!within(0.1, runnerGot), "the runner gave its turn up to pay the debt")
        other.yield()
        #expect(within(1, runnerGot), "one turn again, passed on")
    }

    @Test func theSweeperTakesBackAFreeTurnWithoutDebt() {
        let gate = RunnerGate(turns: 1)
        let runner = RunnerGate.Turn(gate: gate, sweeper: false), other = RunnerGate.Turn(gate: gate, sweeper: false)
        let sweeper = RunnerGate.Turn(gate: gate, sweeper: true)
        runner.take()
        sweeper.yield()
        sweeper.take()  // nobody took the lent turn: the sweeper takes it back at once
        runner.take()
        let otherGot = take(other)
        #expect(!within(0.1, otherGot), "still one turn, the runner's: no debt made it give it up")
        runner.yield()
        #expect(within(1, otherGot))
    }
}
