import Foundation

/// Why one delivery did not happen. The mail process decides from it what becomes of the row.
public enum MailDeliveryError: Error, Equatable, CustomStringConvertible {
    /// Worth another try later (server down, timeout, 4xx, TLS or AUTH trouble).
    case transient(String)
    /// Will never work (a malformed address): the mail is marked failed at once.
    case permanent(String)
    /// The mail process is stopping and gave up the send half-way; not counted as an attempt.
    case abandoned

    public var description: String {
        switch self {
        case .transient(let reason), .permanent(let reason): reason
        case .abandoned: "abandoned at stop"
        }
    }
}

/// Where rendered mail goes. One conformance per `mail.transport`, chosen once at start.
public protocol MailTransport {
    /// Hands over one message; returns once it is accepted, throws otherwise.
    func deliver(_ mail: EncodedMail) throws(MailDeliveryError)
}

public enum MailTransports {
    /// The transport `settings` names. `stop` lets a slow send be abandoned when the process stops.
    public static func make(_ settings: MailSettings, stop: StopFlag) throws -> MailTransport {
        switch settings.transport {
        case .directory:
            return try DirectoryTransport(directory: settings.directory)
        case .smtp:
            return try SMTPTransport(settings, stop: stop)
        }
    }
}
