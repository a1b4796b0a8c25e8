import FastCGI
import Foundation
import Testing
@testable import AllauthCore

/// The in-process harness hands the service what nginx would, on the store the run asks for, and
/// reads the mail the mail process's own code writes.
struct InProcessInstanceTests {
    @Test func theStoreIsTheEngineTheRunAsksFor() throws {
        let instance = try InProcessInstance()
        #expect(instance.storeLocation.engine == (TestEngine.current == .postgresql ? .postgreSQL : .sqlite))
        #expect(try instance.database().first("SELECT COUNT(*) FROM users") { $0.int(0) } == 0, "migrated")
    }

    @Test func requestsCarryWhatNginxPassesToTheWorker() throws {
        let instance = try InProcessInstance()
        let params = instance.client.params("POST", "/jwt-allauth/a%2Fb//c/./d/../e/?x=1%20", headers: [
            ("Content-Type", "application/json"), ("Cookie", "a=1"), ("Cookie", "b=2"), ("X-Custom", "v"), ("Bad_Name", "dropped"),
        ], body: Array("{}".utf8))
        let value = { (name: String) in params.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) } }
        #expect(value("DOCUMENT_URI") == "/jwt-allauth/a/b/c/e/")
        #expect(value("QUERY_STRING") == "x=1%20")
        #expect(value("CONTENT_LENGTH") == "2" && value("CONTENT_TYPE") == "application/json")
        #expect(value("REMOTE_ADDR") == "127.0.0.1" && value("HTTPS") == nil)
        #expect(value("HTTP_HOST") == "127.0.0.1:\(instance.port)")
        #expect(value("HTTP_COOKIE") == "a=1; b=2" && value("HTTP_X_CUSTOM") == "v" && value("HTTP_BAD_NAME") == nil)
        #expect(instance.client.from("203.0.113.9", secure: true).params("GET", "/", headers: [], body: []).contains { $0.name == "HTTPS" })

        // The answer is read back from the CGI bytes a worker writes.
        let health = try instance.client.get("/jwt-allauth//health/")
        #expect(health.status == 200 && health.header("Content-Length") == String(health.body.count))
    }

    @Test func mailIsRenderedAndDeliveredByTheMailProcessesCode() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        #expect(try instance.register("reader@example.com").status == 201)
        #expect(try instance.queuedMails(to: "reader@example.com") == 1)
        let mail = try instance.awaitMail(to: "reader@example.com")
        #expect(mail.header("To") == "reader@example.com" && mail.messageID != nil)
        #expect(try instance.database().first("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") { $0.int(0) } == 1, "marked sent")
        let files = try FileManager.default.contentsOfDirectory(atPath: instance.config.mail.directory).filter { $0.hasSuffix(".eml") }
        #expect(files.count == 1, "one .eml file, as make run's mail catcher holds it")
        #expect(throws: MailError.self) { try instance.awaitMail(to: "reader@example.com", count: 2) }
    }
}
