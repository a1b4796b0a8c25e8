import AllauthCore
import Foundation
import Testing

/// `health/` tells the world only that the service answers; its detail (release, database,
/// schema) goes to the monitoring addresses nginx marks (`JWT_ALLAUTH_MONITORING`, the metrics
/// allow-list: 127.0.0.1 in dev.conf). `WorkerPoolTests` reads the detail through real nginx.
struct HealthTests {
    @Test func aMonitoringAddressReadsTheReleaseTheDatabaseAndTheSchema() throws {
        let instance = try InProcessInstance()
        let health = try instance.client.get("\(instance.mount)/health/")
        #expect(health.status == 200)
        #expect(health.json?["status"]?.string == "ok")
        #expect(health.json?["version"]?.string == Version.release)
        #expect(health.json?["database"]?.string == "ok")
        #expect(health.json?["schema"]?.string?.isEmpty == false, "\(health.text)")
    }

    @Test func anyoneElseReadsOnlyTheStatusEvenWhenAskingForMore() throws {
        let instance = try InProcessInstance()
        let stranger = instance.client.from("203.0.113.7")
        let health = try stranger.get("\(instance.mount)/health/")
        #expect(health.status == 200)
        #expect(health.text == #"{"status":"ok"}"#)
        // A header of that name reaches the worker as HTTP_JWT_ALLAUTH_MONITORING, not as nginx's variable.
        let asking = try stranger.get("\(instance.mount)/health/", headers: [("JWT-Allauth-Monitoring", "1")])
        #expect(asking.text == #"{"status":"ok"}"#)
    }
}
