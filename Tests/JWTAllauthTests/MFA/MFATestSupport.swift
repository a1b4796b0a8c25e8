import Foundation
import Testing
@testable import AllauthCore

/// What a user holds after enrolling: the secret (as their app stores it) and the recovery codes.
struct Enrolment {
    var secret: String
    var recoveryCodes: [String]
}

extension TestInstance {
    static func mfa(_ mode: String, mail: Bool = false, _ environment: [String: String] = [:]) throws -> TestInstance {
        try TestInstance(environment: environment.merging(["JWT_ALLAUTH_MFA_MODE": mode]) { $1 }, smtp: mail)
    }
}

extension ServiceInstance {
    func mfaPost(_ endpoint: String, _ json: String, headers: [(String, String)] = []) throws -> HTTPResponse {
        try client.post("\(mount)/mfa/\(endpoint)", json: json, headers: headers)
    }

    /// `mfa/setup/` then `mfa/activate/` with a code computed by the independent generator, for
    /// the caller identified by `auth` (a Bearer header) or `setupChallenge`. The activation code
    /// is the previous step's, so the next two steps stay free for logins.
    func enrol(bearer: ClientSession? = nil, setupChallenge: String? = nil, password: String = TestInstance.strongPassword) throws -> (Enrolment, HTTPResponse) {
        let headers = bearer.map { [$0.bearer] } ?? []
        if let bearer, setupChallenge == nil {
            // Adding a second factor with an access token needs a recent reauthentication.
            let again = try reauthenticate(bearer, password: password)
            #expect(again.status == 200, "reauthenticate: \(again.text)")
        }
        let challenge = setupChallenge.map { #""setup_challenge_id":"\#($0)""# }
        let setup = try mfaPost("setup/", "{\(challenge ?? "")}", headers: headers)
        #expect(setup.status == 200, "setup: \(setup.text)")
        let secret = try #require(setup.json?["secret"]?.string)
        IndependentTOTP.awaitStepWithRoom()
        let code = IndependentTOTP.code(secret: secret, stepsFromNow: -1)
        let activated = try mfaPost("activate/", "{\([#""code":"\#(code)""#, challenge].compactMap { $0 }.joined(separator: ","))}", headers: headers)
        #expect(activated.status == 200, "activate: \(activated.text)")
        let codes = try #require(activated.json?["recovery_codes"]?.array).compactMap(\.string)
        return (Enrolment(secret: secret, recoveryCodes: codes), activated)
    }

    /// `POST reauthenticate/` for `session` (with the second factor's `code` when given).
    func reauthenticate(_ session: ClientSession, password: String = TestInstance.strongPassword, code: String? = nil) throws -> HTTPResponse {
        let codeMember = code.map { #","code":"\#($0)""# } ?? ""
        return try client.post("\(mount)/reauthenticate/", json: #"{"password":"\#(password)"\#(codeMember)}"#, headers: [session.bearer])
    }

    /// Logs in and answers the MFA challenge id the login must give.
    func challenge(_ email: String) throws -> String {
        let response = try login(email)
        #expect(response.status == 200 && response.json?["mfa_required"]?.bool == true, "login: \(response.text)")
        #expect(response.json?["access"] == nil && response.cookie("refresh_token") == nil, "no session before the second factor")
        return try #require(response.json?["challenge_id"]?.string)
    }

    func verify(_ challenge: String, code: String, headers: [(String, String)] = []) throws -> HTTPResponse {
        try mfaPost("verify/", #"{"challenge_id":"\#(challenge)","code":"\#(code)"}"#, headers: headers)
    }

    func verifyRecovery(_ challenge: String, code: String) throws -> HTTPResponse {
        try mfaPost("verify-recovery/", #"{"challenge_id":"\#(challenge)","recovery_code":"\#(code)"}"#)
    }
}

/// Renders an SVG to PNG (rsvg-convert) and reads the QR code in it (zbarimg), both Debian tools
/// apart from our code; answers the decoded text.
func decodeQRCode(svg: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let svgFile = directory.appendingPathComponent("code.svg"), pngFile = directory.appendingPathComponent("code.png")
    try svg.write(to: svgFile, atomically: true, encoding: .utf8)
    _ = try runTool("/usr/bin/rsvg-convert", ["-o", pngFile.path, svgFile.path])
    return try runTool("/usr/bin/zbarimg", ["--quiet", "--raw", pngFile.path]).trimmingCharacters(in: .whitespacesAndNewlines)
}

private func runTool(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(path) \(arguments)")
    return String(decoding: data, as: UTF8.self)
}
