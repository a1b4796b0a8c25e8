import Foundation
import Testing
@testable import AllauthCore

/// Garbage at every endpoint: never a 5xx, never a dead worker.
@Suite(.serialized)
struct RobustnessTests {
    @Test func randomInputNeverCausesAServerErrorOrKillsAWorker() throws {
        let instance = try TestInstance()
        try instance.createUser("fuzz@example.com")
        let session = try instance.session("fuzz@example.com")
        let workers = instance.workerPIDs
        var generator = SystemRandomNumberGenerator()
        func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        func randomText(_ count: Int) -> String {
            let alphabet = Array("{}[]\":,.-_ 0123456789abcdefABCDEF\\/eE+truefalsenull\u{00e9}")
            return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
        }
        let paths = ["login/", "refresh/", "logout/", "logout-all/", "user/", "sessions/", "sessions/abc/", "verify/", "jwks/", "health/"]
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        var statuses: [Int: Int] = [:]
        for round in 0..<1000 {
            let path = "/jwt-allauth/" + paths.randomElement(using: &generator)!
            let method = methods.randomElement(using: &generator)!
            var headers: [(String, String)] = [("Content-Type", ["application/json", "application/x-www-form-urlencoded", "text/plain"].randomElement(using: &generator)!)]
            switch round % 4 {
            case 0: headers.append(("Authorization", "Bearer " + randomText(Int.random(in: 0...300, using: &generator))))
            case 1: headers.append(("Cookie", "refresh_token=" + randomText(Int.random(in: 0...300, using: &generator)).replacingOccurrences(of: ";", with: "")))
            case 2: headers.append(session.bearer)
            default: headers.append(session.cookie)
            }
            let body = round % 2 == 0 ? Array(randomText(Int.random(in: 0...400, using: &generator)).utf8) : randomBytes(Int.random(in: 0...400, using: &generator))
            let response = try instance.client.request(method, path, headers: headers, body: method == "GET" || method == "HEAD" ? [] : body)
            statuses[response.status, default: 0] += 1
            #expect(response.status < 500, "\(method) \(path): \(response.status) \(response.text.prefix(200))")
        }
        #expect(instance.workerPIDs == workers, "no worker died")
        #expect(try instance.client.get("/jwt-allauth/health/").status == 200)
        #expect(statuses.keys.contains { $0 >= 400 })
    }
}
