import FastCGI
import Foundation
import HTTPTypes
import Logging
import Testing
@testable import AllauthCore
@testable import AllauthDomain
@testable import AllauthHTTP
@testable import AllauthStore

/// The service as a plain function from Request to Response, without nginx or FastCGI.
struct ServiceTests {
    let service: Service
    let thread: ThreadState

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = try Config.parse(yaml: "tokens:\n  algorithm: ES256\nserver:\n  max_body_bytes: 2048\n", baseDirectory: directory)
        let keys = KeySet(accessSigner: ES256Key(privateKey: .init()), extraVerifiers: [],
                          refreshKey: HS256Key(secret: Array(repeating: 1, count: 32), label: "refresh"))
        service = Service(config: config, keys: keys, templates: try TemplateLibrary(config.templates), logger: Logger(label: "test"))
        thread = try service.makeThreadState()
        try Migrator.migrate(thread.db)
    }

    func handle(_ method: HTTPRequest.Method, _ path: String, body: String = "", status: Request.BodyStatus = .complete) -> (Int, JSON?) {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        let response = service.handle(Request(method: method, path: path, headerFields: fields, body: Array(body.utf8), bodyStatus: status), thread)
        return (response.status.code, try? JSON.parse(response.body))
    }

    @Test func transportRejectionsBecomeJSONErrors() {
        let tooLarge = handle(.post, "/jwt-allauth/login/", status: .tooLarge)
        #expect(tooLarge.0 == 413)
        #expect(tooLarge.1?["code"] == "payload_too_large")
        let badLength = handle(.post, "/jwt-allauth/login/", status: .invalidLength)
        #expect(badLength.0 == 400)
        #expect(handle(.get, "/elsewhere/").0 == 404)
    }

    @Test func headAnswersLikeGetWithoutABody() {
        let response = service.handle(Request(method: .head, path: "/jwt-allauth/health/"), thread)
        #expect(response.status == .ok)
        #expect(response.body.isEmpty)
    }

    @Test func optionsListsTheMethods() {
        let response = service.handle(Request(method: .options, path: "/jwt-allauth/login/"), thread)
        #expect(response.status == .ok)
        #expect(response.headerFields[.allow] == "POST, OPTIONS")
    }

    @Test func everyErrorCarriesNoStoreAndJSON() {
        let response = service.handle(Request(method: .get, path: "/jwt-allauth/user/"), thread)
        #expect(response.status == .unauthorized)
        #expect(response.headerFields[.contentType] == "application/json")
        #expect(response.headerFields[.cacheControl] == "no-store")
        #expect(response.headerFields[.wwwAuthenticate] == "Bearer realm=\"api\"")
    }
}
