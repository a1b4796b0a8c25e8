import Foundation
import Testing

/// One worker that lets one thread take requests at a time (`server.running_threads` 1, the
/// SQLite default on a 2-core host) still answers at once while two of its requests wait for long:
/// logins hashing, refreshes waiting for a writer lock held by another process. Two, because the
/// worker's sweeper takes a request the running thread has left waiting, and would take the
/// second; a waiting thread must give up its turn (`Blocking`), or every request behind the two
/// waits as long as they do.
@Suite(.serialized, .enabled(if: TestEngine.isSQLite, "the gate's default of few running threads is SQLite's"))
struct RunnerGateTests {
    static let email = "gate@example.com"

    private func instance(_ extra: [String: String]) throws -> TestInstance {
        try TestInstance(environment: ["JWT_ALLAUTH_SERVER_WORKERS": "1", "JWT_ALLAUTH_SERVER_RUNNING_THREADS": "1"].merging(extra) { $1 })
    }

    /// The slowest of `count` verify/ requests sent one after the other, while `busy` is not done.
    private func slowestVerify(_ instance: TestInstance, access: String, count: Int, while busy: AsyncResult<some Any>) throws -> (seconds: Double, answered: Int) {
        var slowest = 0.0, answered = 0
        for _ in 0..<count where !busy.isDone {
            let started = Date()
            let response = try instance.client.get("\(instance.mount)/verify/", headers: [("Authorization", "Bearer \(access)")])
            #expect(response.status == 200, "\(response.status) \(response.text)")
            slowest = max(slowest, Date().timeIntervalSince(started))
            answered += 1
        }
        return (slowest, answered)
    }

    @Test func verifyIsAnsweredWhileTwoLoginsHash() throws {
        // ~1 s of a core per hash on this machine: long next to a verify, short for a test.
        let instance = try instance(["JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS": "3000000"])
        try instance.createUser(Self.email)
        // The first login re-hashes the test's cheap hash at 3M rounds; the next ones cost a full hash.
        let session = try instance.session(Self.email)
        let started = Date()
        #expect(try instance.login(Self.email).status == 200)
        let hashSeconds = Date().timeIntervalSince(started)

        let client = instance.client, mount = instance.mount
        let logins = AsyncResult {
            [0, 1].map { _ in
                AsyncResult {
                    try client.post("\(mount)/login/", json: #"{"email":"\#(Self.email)","password":"Val1dPasw0rd!"}"#).status
                }
            }.map { $0.wait(timeout: 30) }
        }
        usleep(100_000)  // one login is hashing by now, the other waiting for the hashing slot
        let (slowest, answered) = try slowestVerify(instance, access: session.access, count: 50, while: logins)
        #expect(logins.wait(timeout: 60) == [200, 200])
        #expect(answered >= 3, "verify/ answered \(answered) times during two \(hashSeconds) s hashes")
        // Without the turn given up, the first verify waits for a whole hash.
        #expect(slowest < min(0.3, hashSeconds / 3), "the slowest verify/ took \(slowest) s; a hash takes \(hashSeconds) s")
    }

    @Test func verifyIsAnsweredWhileTwoRefreshesWaitForAHeldWriterLock() throws {
        let busyTimeout = 2.0
        let instance = try instance(["JWT_ALLAUTH_DATABASE_BUSY_TIMEOUT": String(busyTimeout)])
        try instance.createUser(Self.email)
        let sessions = try [instance.session(Self.email), instance.session(Self.email)]
        let holder = try LockHolder(instance.directory.appendingPathComponent("jwt-allauth.sqlite3-writer.lock").path)
        defer { holder.release() }

        let client = instance.client, mount = instance.mount, refreshTokens = sessions.map(\.refresh)
        let refreshes = AsyncResult {
            refreshTokens.map { token in
                AsyncResult { try client.post("\(mount)/refresh/", headers: [("Cookie", "refresh_token=\(token)")]).status }
            }.map { $0.wait(timeout: busyTimeout + 10) }
        }
        usleep(100_000)  // both refreshes wait for the writer lock by now
        let (slowest, answered) = try slowestVerify(instance, access: sessions[0].access, count: 50, while: refreshes)
        #expect(refreshes.wait(timeout: busyTimeout + 20) == [503, 503], "the refreshes still meet the held lock")
        #expect(answered >= 3, "verify/ answered \(answered) times while two refreshes waited \(busyTimeout) s")
        #expect(slowest < 0.3, "the slowest verify/ took \(slowest) s (the refreshes wait \(busyTimeout) s)")
        holder.release()
        for session in sessions { #expect(try instance.refresh(cookie: session.refresh).status == 200) }
    }
}
