import Foundation
import Testing
@testable import AllauthRuntime

/// Counter files: what several processes count adds up, whoever reads it.
struct CounterFileTests {
    func temporaryDirectory() throws -> MetricsDirectory {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString.prefix(8))").path
        let directory = MetricsDirectory(path: path)
        try directory.reset()
        return directory
    }

    @Test func twoRecordersInOneDirectorySumByRoute() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        let routes = ["login/", "refresh/", "unmatched"]
        let first = directory.recorder(name: "worker-0", routes: routes)
        let second = directory.recorder(name: "worker-1", routes: routes)
        for _ in 0..<3 { first.request(route: 1, status: 200, seconds: 0.002) }
        for _ in 0..<4 { second.request(route: 1, status: 200, seconds: 0.2) }
        second.request(route: 0, status: 401, seconds: 0.3)
        first.count(.rotations, 3)
        second.count(.rotations, 4)

        let total = directory.snapshot()
        #expect(total.requests(route: "refresh/", status: 200) == 7)
        #expect(total.requests(route: "login/", status: 401) == 1)
        #expect(total[.rotations] == 7)
        #expect(first.snapshot[.rotations] == 3, "a recorder's own view is its process only")
    }

    @Test func aRespawnedWorkerCarriesOnInItsSlotsFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        directory.recorder(name: "worker-0", routes: ["health/", "unmatched"]).request(route: 0, status: 200, seconds: 0.001)
        let respawned = directory.recorder(name: "worker-0", routes: ["health/", "unmatched"])
        respawned.request(route: 0, status: 200, seconds: 0.001)
        #expect(respawned.snapshot.requests(route: "health/", status: 200) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".counters") }.count == 1)
    }

    @Test func filesWithDifferentRouteTablesAreSummedByLabel() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        // Before and after a reload that added a route: both generations' files count.
        directory.recorder(name: "worker-0", routes: ["login/", "unmatched"]).request(route: 0, status: 200, seconds: 0.01)
        directory.recorder(name: "worker-0", routes: ["registration/", "login/", "unmatched"]).request(route: 1, status: 200, seconds: 0.01)
        #expect(directory.snapshot().requests(route: "login/", status: 200) == 2)
    }

    @Test func resetClearsThePreviousPoolsCounts() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        directory.recorder(name: "master", routes: []).count(.workerRestarts)
        try directory.reset()
        #expect(directory.snapshot()[.workerRestarts] == 0)
    }

    @Test func aForeignFileInTheDirectoryIsIgnored() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory.path) }
        try Data(repeating: 0xff, count: 100).write(to: URL(fileURLWithPath: directory.path + "/junk.counters"))
        directory.recorder(name: "master", routes: []).count(.workerRestarts)
        #expect(directory.snapshot()[.workerRestarts] == 1)
    }

    @Test func expositionHasCumulativeBucketsStatusesAndCounters() {
        let recorder = MetricsRecorder.inMemory(routes: ["verify/", "unmatched"])
        recorder.request(route: 0, status: 200, seconds: 0.0005)
        recorder.request(route: 0, status: 200, seconds: 0.003)
        recorder.request(route: 0, status: 418, seconds: 10)
        recorder.count(.failedLogins, 2)
        let text = PrometheusText.render(recorder.snapshot, gauges: [.init(name: "jwt_allauth_mail_queue_depth", help: "x", value: 4)])
        #expect(text.contains(#"jwt_allauth_requests_total{route="verify/",status="200"} 2"#))
        #expect(text.contains(#"jwt_allauth_requests_total{route="verify/",status="other"} 1"#))
        #expect(text.contains(#"jwt_allauth_request_duration_seconds_bucket{route="verify/",le="0.001"} 1"#))
        #expect(text.contains(#"jwt_allauth_request_duration_seconds_bucket{route="verify/",le="0.005"} 2"#))
        #expect(text.contains(#"jwt_allauth_request_duration_seconds_bucket{route="verify/",le="+Inf"} 3"#))
        #expect(text.contains(#"jwt_allauth_request_duration_seconds_count{route="verify/"} 3"#))
        #expect(text.contains("# TYPE jwt_allauth_failed_logins_total counter\njwt_allauth_failed_logins_total 2\n"))
        #expect(text.contains("# TYPE jwt_allauth_mail_queue_depth gauge\njwt_allauth_mail_queue_depth 4\n"))
        #expect(!text.contains("unmatched"), "routes nobody called are left out")
    }
}
