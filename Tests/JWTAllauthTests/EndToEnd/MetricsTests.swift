import Foundation
import Testing
@testable import AllauthRuntime

#if canImport(Glibc)
import Glibc
#endif

/// `GET metrics/` through nginx: the whole pool's counts, and only for the allowlist.
@Suite(.serialized)
struct MetricsTests {
    /// `name{labels}` → value, from the Prometheus text.
    static func scrape(_ instance: TestInstance) throws -> [String: Double] {
        let response = try instance.client.get("\(instance.mount)/metrics/")
        guard response.status == 200 else { throw ScrapeError.status(response.status, response.text) }
        var samples: [String: Double] = [:]
        for line in response.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    enum ScrapeError: Error { case status(Int, String) }

    @Test func aScrapeAfterALoadCountsEveryRequestOfEveryWorker() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_THROTTLE_SCALE": "1000"])
        try instance.createUser("load@example.com")
        for _ in 0..<5 { #expect(try instance.login("load@example.com", password: "wrong").status == 401) }
        let sessions = try (0..<8).map { _ in try instance.session("load@example.com") }
        var verified = 0
        for session in sessions.prefix(4) {
            for _ in 0..<5 where try instance.client.get("\(instance.mount)/verify/", headers: [session.bearer]).status == 200 { verified += 1 }
        }
        // Eight clients refreshing at once, so both workers answer some.
        let load = RefreshLoad(instance, sessions: sessions, maximumDuration: 20)
        load.start()
        let deadline = Date().addingTimeInterval(15)
        while load.answered < 400 && Date() < deadline { usleep(20_000) }
        let tally = load.stop()
        #expect(tally.failed == 0 && tally.lostSessions == 0)
        let refreshes = tally.answered + sessions.count  // stop() refreshes each session once more

        let samples = try Self.scrape(instance)
        #expect(samples[#"jwt_allauth_requests_total{route="refresh/",status="200"}"#] == Double(refreshes))
        #expect(samples["jwt_allauth_rotations_total"] == Double(refreshes))
        #expect(samples[#"jwt_allauth_request_duration_seconds_count{route="refresh/"}"#] == Double(refreshes))
        #expect(samples[#"jwt_allauth_request_duration_seconds_bucket{route="refresh/",le="+Inf"}"#] == Double(refreshes))
        #expect(samples[#"jwt_allauth_requests_total{route="login/",status="200"}"#] == 8)
        #expect(samples[#"jwt_allauth_requests_total{route="login/",status="401"}"#] == 5)
        #expect(samples["jwt_allauth_failed_logins_total"] == 5)
        #expect(samples[#"jwt_allauth_requests_total{route="verify/",status="200"}"#] == Double(verified))
        #expect(samples["jwt_allauth_mail_queue_depth"] == 0)

        // Pool-wide: the refreshes were answered by both workers, each counting in its own file.
        let directory = MetricsDirectory(path: instance.directory.appendingPathComponent("run/metrics").path)
        let perWorker = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("worker-") }
            .compactMap { CounterFile.read(path: directory.path + "/" + $0)?.requests(route: "refresh/", status: 200) }
        #expect(perWorker.count == 2 && perWorker.allSatisfy { $0 > 0 }, "\(perWorker)")
        #expect(perWorker.reduce(0, +) == UInt64(refreshes))
    }

    @Test func aKilledWorkerIsCountedAndItsCountsAreKept() throws {
        let instance = try TestInstance()
        for _ in 0..<20 { _ = try instance.client.get("\(instance.mount)/jwks/") }
        let victim = try #require(instance.workerPIDs.first)
        kill(victim, SIGKILL)
        let deadline = Date().addingTimeInterval(20)
        while (instance.workerPIDs.contains(victim) || instance.workerPIDs.count < 2) && Date() < deadline { usleep(50_000) }
        try instance.waitUntilHealthy()
        let samples = try Self.scrape(instance)
        #expect(samples["jwt_allauth_worker_restarts_total"] == 1)
        #expect(samples[#"jwt_allauth_requests_total{route="jwks/",status="200"}"#] == 20)
    }

    @Test func mailFailuresAndTheQueueShowInTheScrape() throws {
        let sink = try SMTPSink()
        sink.stop()
        let instance = try TestInstance(environment: sink.environment.merging(MailFaultTests.quick) { $1 })
        let ids = try (0..<3).map { try instance.enqueueMail(to: "user\($0)@example.com") }
        #expect(try instance.eventually { try ids.allSatisfy { try instance.outboxRow($0)?.lastError != nil } })
        let failing = try Self.scrape(instance)
        #expect(failing["jwt_allauth_mail_queue_depth"] == 3)
        #expect((failing["jwt_allauth_mail_delivery_failures_total"] ?? 0) >= 3, "the mail process counts in the pool's metrics")
        try sink.start()
        #expect(try instance.eventually(timeout: 30) { try ids.allSatisfy { try instance.outboxRow($0)?.sentAt != nil } })
        #expect(try Self.scrape(instance)["jwt_allauth_mail_queue_depth"] == 0)
    }

    @Test func mailGivenUpOnIsAGauge() throws {
        let sink = try SMTPSink()
        sink.stop()
        let instance = try TestInstance(environment: sink.environment.merging(MailFaultTests.quick) { $1 }
            .merging(["JWT_ALLAUTH_MAIL_MAX_ATTEMPTS": "1"]) { $1 })
        let ids = try (0..<2).map { try instance.enqueueMail(to: "user\($0)@example.com") }
        #expect(try instance.eventually { try ids.allSatisfy { try instance.outboxRow($0)?.failedAt != nil } })
        let samples = try Self.scrape(instance)
        #expect(samples["jwt_allauth_mail_failed"] == 2)
        #expect(samples["jwt_allauth_mail_queue_depth"] == 0)
        #expect(samples["jwt_allauth_mail_delivery_failures_total"] == 2)
    }

    @Test func anAddressOutsideTheAllowlistGetsAJSON403() throws {
        let instance = try TestInstance()
        let connection = try RawConnection(port: instance.port, from: "127.0.0.3")
        defer { connection.close() }
        #expect(connection.send("GET \(instance.mount)/metrics/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
        let response = try connection.readResponse()
        #expect(response.status == 403)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.json?["code"]?.string == "forbidden")
        #expect(try instance.client.get("\(instance.mount)/metrics/").status == 200, "127.0.0.1 is allowed")
    }
}
