/// One mail, rendered and ready to queue: a single recipient, a text part and an optional HTML
/// alternative. `kind` names the template it came from (for `jwt-allauth mail` and the logs).
public struct OutgoingMail: Sendable, Equatable {
    public var kind: String
    public var from: String
    public var to: String
    public var subject: String
    public var text: String
    public var html: String?

    public init(kind: String, from: String, to: String, subject: String, text: String, html: String?) {
        self.kind = kind
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
    }
}
