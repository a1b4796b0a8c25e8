import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Password hashing keeps to its share of the pool (`accounts.hashing_concurrency`) through real
/// nginx and two workers: hashes queue across the pool, the queue is bounded in time (503 JSON with
/// `Retry-After` past `accounts.hashing_wait`), a worker killed mid-hash does not keep its slot, and
/// refreshes go on during a storm of logins.
@Suite(.serialized)
struct LoginStormTests {
    static let email = "storm@example.com"

    /// One hashing slot for the whole pool of two workers, hashes of `iterations` rounds.
    private func instance(iterations: Int, wait: TimeInterval, algorithm: String = "ES256") throws -> TestInstance {
        let instance = try TestInstance(algorithm: algorithm, environment: [
            "JWT_ALLAUTH_SERVER_WORKERS": "2",
            "JWT_ALLAUTH_ACCOUNTS_HASHING_CONCURRENCY": "1",
            "JWT_ALLAUTH_ACCOUNTS_HASHING_WAIT": String(wait),
            "JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS": String(iterations),
            // Parallel logins of one account must meet the hashing budget, not the failed-login limits.
            "JWT_ALLAUTH_THROTTLE_SCALE": "1000",
        ])
        try instance.createUser(Self.email)
        // The first login re-hashes the test's cheap hash at `iterations`: from now on every
        // login costs one full hash.
        #expect(try instance.login(Self.email).status == 200)
        return instance
    }

    /// CPU seconds the pool's workers have used so far (user + system, from /proc).
    private func workerCPUSeconds(_ instance: TestInstance) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return instance.workerPIDs.reduce(0) { total, pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return total }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state is field 0, utime 11, stime 12.
            return total + (Double(fields[11]) ?? 0) / ticks + (Double(fields[12]) ?? 0) / ticks
        }
    }

    /// A login by any thread (`TestInstance` stays on the test's).
    private static func login(_ client: HTTPClient) throws -> HTTPResponse {
        try client.post("/jwt-allauth/login/", json: #"{"email":"\#(email)","password":"Val1dPasw0rd!"}"#)
    }

    private func timedLogins(_ instance: TestInstance, _ count: Int) -> [(status: Int, seconds: Double, response: HTTPResponse?)] {
        let client = instance.client
        return simultaneously(count) { _ in
            let started = Date()
            let response = try? Self.login(client)
            return (response?.status ?? -1, Date().timeIntervalSince(started), response)
        }
    }

    @Test func parallelLoginsAreHashedOneAtATimeAcrossThePool() throws {
        let instance = try instance(iterations: 1_500_000, wait: 30)
        let count = 4
        let cpuBefore = workerCPUSeconds(instance)
        let started = Date()
        let results = timedLogins(instance, count)
        let wall = Date().timeIntervalSince(started)
        let cpu = workerCPUSeconds(instance) - cpuBefore
        #expect(results.allSatisfy { $0.status == 200 }, "\(results.map(\.status))")
        // Two workers on two cores would run two hashes at once, in half the CPU time they use.
        // One slot for the pool: the hashes run one after another, so the wall time covers the
        // CPU time they took. (Other load on the machine only stretches the wall time.)
        #expect(wall >= 0.85 * cpu, "\(count) logins took \(wall) s for \(cpu) CPU s in the workers")
        #expect(cpu >= 0.5, "each login hashed: \(cpu) CPU s")
        // The last to finish waited for the others.
        let slowest = results.map(\.seconds).max() ?? 0, fastest = results.map(\.seconds).min() ?? 0
        #expect(slowest >= 2.5 * fastest, "latencies \(results.map(\.seconds))")
    }

    @Test func loginsPastTheWaitBoundAreAnswered503WithRetryAfterAndNoWorkerDies() throws {
        let wait = 0.5
        let instance = try instance(iterations: 1_500_000, wait: wait)
        let workers = instance.workerPIDs
        let results = timedLogins(instance, 8)
        let statuses = results.map(\.status)
        #expect(Set(statuses).isSubset(of: [200, 503]), "\(statuses)")
        #expect(statuses.contains(200), "the slot served some: \(statuses)")
        #expect(statuses.filter { $0 == 503 }.count >= 2, "eight hashes of a slot do not fit in \(wait) s of waiting: \(statuses)")
        for refused in results where refused.status == 503 {
            #expect(refused.response?.header("Retry-After") == "1")
            #expect(refused.response?.header("Content-Type") == "application/json")
            #expect(refused.response?.json?["code"]?.string == "busy", "the service's answer, not nginx's: \(refused.response?.text ?? "")")
            // Bounded: the wait, plus the time to reach the worker on a loaded machine.
            #expect(refused.seconds < wait + 5, "a refused login took \(refused.seconds) s")
        }
        #expect(instance.workerPIDs == workers, "no worker died or was replaced")
        #expect(try instance.login(Self.email).status == 200, "the queue drained: a login succeeds again")
    }

    /// The pid holding the flock on `path`, from /proc/locks (nil while nobody holds it).
    private func lockHolder(_ path: String) -> pid_t? {
        var info = stat()
        guard stat(path, &info) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let inode = ":\(info.st_ino)"
        for line in locks.split(separator: "\n") where line.contains("FLOCK") {
            let fields = line.split(separator: " ")
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
            if fields.count > 5, fields[5].hasSuffix(inode) { return pid_t(fields[4]) }
        }
        return nil
    }

    @Test func aWorkerKilledInTheMiddleOfAHashDoesNotKeepItsSlot() throws {
        // A hash of several seconds, so the kill lands inside it; a wait that would run out
        // long before a leaked slot could free up.
        let wait = 3.0
        let instance = try instance(iterations: 12_000_000, wait: wait)
        let slot = instance.directory.appendingPathComponent("run/hashing/slot-0").path
        let victimLogin = DispatchGroup()
        victimLogin.enter()
        let client = instance.client
        Thread {
            _ = try? Self.login(client)
            victimLogin.leave()
        }.start()
        var holder: pid_t?
        let deadline = Date().addingTimeInterval(10)
        while holder == nil && Date() < deadline {
            holder = lockHolder(slot)
            if holder == nil { usleep(10_000) }
        }
        let workers = instance.workerPIDs
        guard let holder, workers.contains(holder) else {
            Issue.record("no worker held \(slot) (holder \(String(describing: holder)), workers \(workers))")
            return
        }
        kill(holder, SIGKILL)
        #expect(victimLogin.wait(timeout: .now() + 10) == .success, "the victim's login was answered")
        let started = Date()
        let after = try instance.login(Self.email)
        #expect(after.status == 200, "the slot came back with the dead worker's descriptors: \(after.status) \(after.text)")
        // It did not wait for the bound (a leaked slot) before hashing.
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(lockHolder(slot) == nil, "nobody holds the slot once the login is answered")
    }

    @Test func everyPathThatHashesAPasswordWaitsForThePoolsSlot() throws {
        // Cheap hashes, one slot, a short wait; the test takes the slot itself, as a worker would.
        let instance = try TestInstance.mfa("optional", mail: true, [
            "JWT_ALLAUTH_ACCOUNTS_HASHING_CONCURRENCY": "1", "JWT_ALLAUTH_ACCOUNTS_HASHING_WAIT": "0.3",
        ])
        let password = TestInstance.strongPassword
        try instance.createUser("hasher@example.com")
        let session = try instance.session("hasher@example.com")
        try instance.createUser("second@example.com")
        let enrolled = try instance.session("second@example.com")
        _ = try instance.enrol(bearer: enrolled)
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"hasher@example.com"}"#).status == 200)
        let opened = try instance.followMailLink(to: "hasher@example.com")
        let cookies = try instance.capabilityCookies(opened, name: "password_reset_access_token")

        let slot = open(instance.directory.appendingPathComponent("run/hashing/slot-0").path, O_RDWR)
        #expect(slot >= 0 && flock(slot, LOCK_EX) == 0, "the test holds the pool's only hashing slot")
        let refused: [(String, HTTPResponse)] = [
            ("login", try instance.login("hasher@example.com")),
            ("login, unknown address", try instance.login("nobody@example.com")),
            ("sign-up", try instance.register("new@example.com")),
            ("password change", try instance.client.post("\(instance.mount)/password/change/", json:
                #"{"old_password":"\#(password)","new_password1":"N3w-Passw0rd-42","new_password2":"N3w-Passw0rd-42"}"#, headers: [session.bearer])),
            ("MFA sign-in's password step", try instance.login("second@example.com")),
            ("MFA deactivate", try instance.mfaPost("deactivate/", #"{"password":"\#(password)"}"#, headers: [enrolled.bearer])),
            ("reset set-new", try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token", password: "N3w-Passw0rd-42")),
        ]
        for (path, response) in refused {
            #expect(response.status == 503 && response.json?["code"]?.string == "busy" && response.header("Retry-After") == "1",
                    "\(path): \(response.status) \(response.text)")
        }
        // Five refusals for load on one account are no failed logins: its limit (5 per 5 min) is untouched.
        for _ in 0..<5 { _ = try instance.login("hasher@example.com") }
        close(slot)
        #expect(try instance.login("hasher@example.com").status == 200, "the slot is free again, and no failure was counted")
        #expect(try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token",
                                         password: "N3w-Passw0rd-42").status == 200, "the refused reset spent nothing")
    }

    @Test func aSignUpRefusedForLoadDoesNotSpendTheAddressesSignUpLimit() throws {
        let instance = try TestInstance(environment: [
            "JWT_ALLAUTH_ACCOUNTS_HASHING_CONCURRENCY": "1", "JWT_ALLAUTH_ACCOUNTS_HASHING_WAIT": "0.3",
            "JWT_ALLAUTH_THROTTLE_REGISTRATION_IP": "1/m",
        ])
        let slot = open(instance.directory.appendingPathComponent("run/hashing/slot-0").path, O_RDWR)
        #expect(slot >= 0 && flock(slot, LOCK_EX) == 0, "the test holds the pool's only hashing slot")
        let refused = try instance.register("first@example.com")
        #expect(refused.status == 503 && refused.header("Retry-After") == "1", "\(refused.status) \(refused.text)")
        close(slot)
        // The address's one sign-up a minute is still there: the refusal was the service's load.
        let created = try instance.register("first@example.com")
        #expect(created.status == 201, "\(created.status) \(created.text)")
        #expect(try instance.register("second@example.com").status == 429, "and the limit itself still holds")
    }

    @Test func refreshKeepsAnsweringDuringALoginStorm() throws {
        // Production hashing (1M rounds), one slot; RS256 so a refresh needs real CPU (a signature).
        let instance = try instance(iterations: 1_000_000, wait: 3, algorithm: "RS256")
        // Two refresh chains per phase, logged in before the storm (a login during it would queue).
        let chains = try (0..<6).map { _ in try instance.session(Self.email) }
        func refreshRate(_ sessions: ArraySlice<ClientSession>, seconds: TimeInterval) -> (rate: Double, tally: RefreshLoad.Tally) {
            let load = RefreshLoad(instance, sessions: Array(sessions), maximumDuration: seconds + 30)
            let started = Date()
            load.start()
            usleep(useconds_t(seconds * 1_000_000))
            let tally = load.stop()
            return (Double(tally.answered) / Date().timeIntervalSince(started), tally)
        }
        let before = refreshRate(chains[0..<2], seconds: 2)
        let stopping = Atomic<Bool>(false)
        let storm = DispatchGroup()
        let stormStatuses = Mutex([Int: Int]())
        let stormDeadline = Date().addingTimeInterval(60)
        let client = instance.client
        for _ in 0..<16 {
            storm.enter()
            Thread {
                defer { storm.leave() }
                while !stopping.load(ordering: .relaxed) && Date() < stormDeadline {
                    let status = (try? Self.login(client))?.status ?? -1
                    stormStatuses.withLock { $0[status, default: 0] += 1 }
                }
            }.start()
        }
        usleep(500_000)
        let during = refreshRate(chains[2..<4], seconds: 3)
        stopping.store(true, ordering: .relaxed)
        #expect(storm.wait(timeout: .now() + 30) == .success)
        let after = refreshRate(chains[4..<6], seconds: 2)
        let logins = stormStatuses.withLock { $0 }
        #expect(during.tally.failed == 0 && during.tally.lostSessions == 0, "\(during.tally)")
        #expect((logins[200] ?? 0) > 0, "the storm logged in: \(logins)")
        #expect(Set(logins.keys).isSubset(of: [200, 503]), "\(logins)")
        // Hashing takes one core of two and refreshes keep the other; unbounded, sixteen hashing
        // threads take nearly all of both and refresh falls to about a tenth. The rate without the
        // storm is taken before and after it, so other load on the machine weighs on both sides.
        let alone = (before.rate + after.rate) / 2
        #expect(during.rate >= 0.25 * alone, "refresh/s before \(before.rate), during the storm \(during.rate), after \(after.rate); logins \(logins)")
    }
}
