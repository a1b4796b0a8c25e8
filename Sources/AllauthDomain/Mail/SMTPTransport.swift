import AllauthCore
import CCurl
import Foundation

/// `mail.transport: smtp`, through libcurl (Debian libcurl4-openssl-dev): plain SMTP, STARTTLS
/// required (`starttls`: a server that does not offer it is an error, never a silent downgrade) or
/// implicit TLS (`tls`, SMTPS); AUTH when a username is configured; certificate and host name
/// always verified; connect and total timeouts. One connection per mail: the outbox trickles.
public final class SMTPTransport: MailTransport {
    let url: String
    let settings: MailSettings
    let password: String?
    let stop: StopFlag

    /// curl_global_init is not thread-safe and must run once before any handle exists.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(_ settings: MailSettings, stop: StopFlag) throws {
        _ = Self.globalInit
        self.settings = settings
        self.stop = stop
        let host = settings.smtpHost.contains(":") ? "[\(settings.smtpHost)]" : settings.smtpHost
        url = "\(settings.smtpSecurity == .tls ? "smtps" : "smtp")://\(host):\(settings.smtpPort)"
        password = try settings.smtpPasswordFile.map { path throws(ConfigError) in
            let text = try ConfigReader.readText(path: path)
            // The file is written by hand or by a secrets tool: one line, maybe with its newline.
            return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
    }

    public func deliver(_ mail: EncodedMail) throws(MailDeliveryError) {
        guard let curl = curl_easy_init() else { throw .transient("curl_easy_init failed") }
        defer { curl_easy_cleanup(curl) }
        let upload = Upload(mail.bytes)
        let recipients: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "<\(mail.recipient.address)>")
        defer { curl_slist_free_all(recipients) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            let setup: [CURLcode] = [
                jwt_curl_setopt_string(curl, CURLOPT_URL, url),
                jwt_curl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps"),
                jwt_curl_setopt_string(curl, CURLOPT_MAIL_FROM, "<\(mail.sender.address)>"),
                jwt_curl_setopt_slist(curl, CURLOPT_MAIL_RCPT, recipients),
                jwt_curl_setopt_long(curl, CURLOPT_UPLOAD, 1),
                jwt_curl_setopt_read_function(curl, { buffer, size, count, context in
                    guard let buffer, let context else { return 0 }
                    return Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
                }),
                jwt_curl_setopt_pointer(curl, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque()),
                jwt_curl_setopt_long(curl, CURLOPT_USE_SSL, settings.smtpSecurity == .none ? Int(CURLUSESSL_NONE.rawValue) : Int(CURLUSESSL_ALL.rawValue)),
                jwt_curl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 1),
                jwt_curl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 2),
                jwt_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeout * 1000)),
                jwt_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(settings.sendTimeout * 1000)),
                // Timeouts by alarm() would hit the wrong thread; libcurl then needs this.
                jwt_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1),
                jwt_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorPointer.baseAddress),
                jwt_curl_abort_when(curl, stop.pointer),
            ]
            if let failed = setup.first(where: { $0 != CURLE_OK }) { return failed }
            if let caFile = settings.smtpCAFile, jwt_curl_setopt_string(curl, CURLOPT_CAINFO, caFile) != CURLE_OK {
                return CURLE_SSL_CACERT_BADFILE
            }
            if let username = settings.smtpUsername {
                let auth = [jwt_curl_setopt_string(curl, CURLOPT_USERNAME, username),
                            jwt_curl_setopt_string(curl, CURLOPT_PASSWORD, password ?? "")]
                if let failed = auth.first(where: { $0 != CURLE_OK }) { return failed }
            }
            defer { jwt_stop_state_forget_socket(stop.pointer) }
            return curl_easy_perform(curl)
        }
        guard result != CURLE_OK else { return }
        // Aborted by the callback, or failed because the stop shut the socket down.
        if result == CURLE_ABORTED_BY_CALLBACK || stop.isSet { throw .abandoned }
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let code = jwt_curl_response_code(curl)
        var reason = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
        if code > 0 { reason += " (SMTP \(code))" }
        throw .transient(reason)
    }

    /// The message bytes handed to libcurl's read callback piece by piece.
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
            let count = min(capacity, bytes.count - offset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: count)
            }
            offset += count
            return count
        }
    }
}
