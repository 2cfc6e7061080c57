"""Tables that map bounce texts and status codes to reasons.

Each `Rule` names the kind of message it covers, so a classification can be
traced back to the text family it came from. Rules are tried in order and
the first match wins, so provider-specific and narrow phrases come before
broad ones. Patterns are regular expressions over the diagnostic text after
`normalize_text`: lower case, whitespace runs collapsed to one space.

To add a pattern: find the reason's block below, add a `Rule` with a name
that says whose message it is (`microsoft-s3150`, `qmail-no-mailbox`) and a
`covers` note quoting the message shape, and add a case to
tests/test_classify_bounce.py.
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class Rule:
    """One text pattern. `name` identifies it and `covers` describes the messages it is for."""

    name: str
    reason: str
    pattern: re.Pattern[str]
    covers: str


def rule(name: str, reason: str, pattern: str, covers: str) -> Rule:
    return Rule(name, reason, re.compile(pattern), covers)


# Provider-specific texts. They come first because their wording often
# contains generic words ("user", "rejected") that would mislead later rules.
PROVIDER_RULES = (
    rule("local-delivery-agent", "mailererror", r"\bprocmail\b|couldn't create \"?/var/(?:spool/)?mail|mail(?:er)? program .* (?:failed|error)|\bx-unix;|pipe to \|",
         "local delivery programs that failed: procmail, pipes, Sendmail X-Unix"),
    rule("microsoft-s3150", "blocked", r"\bs3150\b|\bs3140\b|\bs3114\b|\bs3115\b",
         "Outlook.com/Hotmail IP block: 'Unfortunately, messages from [IP] weren't sent ... (S3150)'"),
    rule("microsoft-5.7.515", "authfailure", r"5\.7\.515|access denied, sending domain .* does not meet the required authentication",
         "Outlook.com 2025 sender requirements: SPF, DKIM and DMARC all required"),
    rule("microsoft-ip-banned", "blocked", r"\b(?:ip|domain) (?:address )?(?:has been )?banned\b|banned sending ip|part of their network is on our block list|\bas\(\d+\)",
         "Outlook.com blocks of banned IPs and networks: 'part of their network is on our block list', AS(...) codes"),
    rule("microsoft-recipient-not-found", "userunknown", r"recipientnotfound|recipient not found by smtp address lookup",
         "Exchange Online 550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
    rule("domino-not-in-directory", "userunknown", r"not listed in (?:the )?(?:public )?domino directory",
         "Lotus Domino 'User ... not listed in Domino Directory'"),
    rule("exchange-2003-unknown-recipient", "userunknown", r"recipient name is not recognized|\(000c05a6\)",
         "Exchange 2000/2003 'The recipient name is not recognized ... (000C05A6) Unknown Recipient'"),
    rule("gmail-address-not-found", "userunknown", r"address not found|address couldn't be found",
         "Gmail 'Address not found: Your message wasn't delivered ... because the address couldn't be found'"),
    rule("imail-unknown-user", "userunknown", r"\bunknown user: [^\s@]+@[^\s@]+",
         "Ipswitch IMail Server's own notice line 'Unknown user: user@example.com' for its local mailboxes"),
    rule("messagelabs-recipient-rejected", "userunknown", r"^5\d\d [^\s@<>]+@[^\s@<>]+ rejected$",
         "MessageLabs (Symantec.cloud) '542 user@example.com Rejected': the reply names only the refused recipient"),
    rule("yahoo-no-account", "userunknown", r"delivery error: dd this user doesn't have",
         "Yahoo '554 delivery error: dd This user doesn't have a yahoo.com account'"),
    rule("interscan-unable-to-deliver", "userunknown", r"unable to deliver message to .*please check if (?:the )?address is correct",
         "Trend Micro InterScan Messaging Security Suite 'Unable to deliver message to <address> ... Please check if address is correct'"),
    rule("microsoft-access-denied-tenant", "rejected", r"tenantinboundattribution|access denied, (?:banned|bad) (?:sender|tenant)",
         "Exchange Online tenant attribution rejects"),
    rule("dns-failure", "networkerror",
         r"name service error .*(?:try again|malformed|unexpected)|malformed or unexpected name server reply|host name lookup failure|dns error: .*nxdomain|dns query failed|dns records for the destination computer could not be found|host not found, try again",
         "temporary DNS failures: Postfix 'Name service error ... try again', Gmail 'DNS Error: ... NXDOMAIN'"),
    rule("cox-blocklist", "blocked", r"aup#\w*(?:rbl|bl)\b",
         "Cox and similar 'AUP#CDRBL' codes: the sending IP is on a blocklist"),
    rule("explicit-expiry", "expired", r"message expired|envelope expired|delivery time expired",
         "notices that name the queue expiry itself (Exchange Online 5.4.316 'Message expired, connection refused', OpenSMTPD 'Envelope expired')"),
    rule("sender-id", "rejected", r"purported responsible address|sender (?:address )?rejected|unroutable sender|unrouteable sender|sender verify failed|domain of sender address",
         "sender rejected: Postfix 'Sender address rejected', Exim 'sender verify failed', Courier Sender ID"),
    rule("gmail-4.7.28", "badreputation", r"4\.7\.28|5\.7\.28|unusual rate of unsolicited mail|very low reputation of the sending (?:ip|domain)|low reputation of the sending",
         "Gmail rate limiting for unsolicited mail from an IP or domain"),
    rule("gmail-5.7.26", "authfailure", r"5\.7\.26|unauthenticated email from .* is not accepted due to|not pass (?:spf|dkim|dmarc)|does not meet (?:the )?(?:required )?authentication|dmarc policy",
         "Gmail and Yahoo sender requirements: SPF, DKIM or DMARC failed (Gmail 5.7.26)"),
    rule("gmail-5.7.27", "authfailure", r"5\.7\.27|(?:not|no) (?:pass|passing) (?:spf|dkim)",
         "Gmail: message not authenticated with SPF"),
    rule("reverse-dns", "requireptr", r"ptr resource record|bad dns ptr|ip name lookup failed|invalid rdns|mismatches client ip|unverifyable sending ip|does not have a ptr record|ip address has no ptr|no ptr record|reverse dns|reverse (?:dns )?lookup|(?:rdns|ptr) (?:record )?(?:does not match|mismatch)|cannot find your hostname|cannot resolve your (?:address|hostname)|client host rejected: cannot find your|please set up a valid (?:ptr|rdns)|\bno (?:reverse|rdns)\b",
         "PTR/reverse DNS requirements (Gmail 4.7.25/5.7.25, Postfix reject_unknown_client_hostname)"),
    rule("yahoo-tss04", "badreputation", r"\[tss04\]|\[ts04\]|temporarily deferred due to unexpected volume or user complaints",
         "Yahoo TSS04: temporarily deferred due to unexpected volume or user complaints, a verdict on the sender's reputation"),
    rule("yahoo-tss", "blocked", r"\[tss0[1-9]\]|\[ts0[1-3]\]|\[tsm?s?\d\d\]",
         "Yahoo TSS01/TSS02/TSS03/TS01 blocks for the sending IP"),
    rule("yahoo-rate", "speeding", r"\[gl01\]|message from .* temporarily deferred",
         "Yahoo GL01 deferral"),
    rule("gmail-spam", "spamdetected", r"our system has detected that this message is likely (?:unsolicited mail|suspicious)|this message has been blocked because it was (?:classified|identified) as spam|message (?:was |is )?(?:considered|classified|detected|identified|marked) as (?:spam|unsolicited)|likely suspicious due to the very low reputation",
         "Gmail 5.7.1 'likely unsolicited mail' and other spam verdicts"),
    rule("gmail-over-quota-rate", "speeding", r"receiving mail at a rate that prevents additional messages|receiving mail too quickly|user is receiving mail too quickly|rate (?:that )?prevents additional messages",
         "Gmail 4.2.1/5.2.1 'user is receiving mail at a rate': a rate limit phrased as a user error"),
    rule("gmail-account-disabled", "suspend", r"account (?:that )?you tried to reach is (?:disabled|inactive)|account (?:has been |is )?(?:disabled|deactivated|locked|suspended|inactive|expired)|mailbox (?:has been |is )?(?:disabled|deactivated|inactive|suspended|expired)|user (?:account )?(?:is )?(?:disabled|suspended|inactive|expired)|recipient (?:account )?(?:is )?(?:disabled|suspended|inactive)|this account has been (?:disabled|discontinued)|temporar(?:il)?y? locked|account (?:is )?locked|boite du destinataire archivee|archived mailbox|mailbox unavailable \(disabled\)|address (?:is )?inactive|inactive (?:account|mailbox|user)",
         "disabled, suspended or inactive accounts (Gmail 5.2.1, Yahoo, Orange)"),
    rule("gmail-send-mail-as", "rejected", r"'send mail as'|customfromdenied",
         "Gmail 'Send mail as' address not verified or misconfigured: the sender is refused"),
    rule("mailing-list-members-only", "rejected", r"not a member of this (?:mailing )?list|only members (?:can|may) post|posting (?:is )?restricted to members|non-?member (?:post|submission)",
         "mailing list managers (fml, Mailman, ezmlm) refusing posts from non-members"),
    rule("google-groups", "rejected", r"you do not have permission to post|google groups .* (?:doesn't|does not) exist|group .* does not exist",
         "Google Groups posting refused"),
    rule("kddi-filter-user-unknown", "filtered", r"\b550:? : user unknown",
         "au/KDDI (ezweb.ne.jp): '550 : User unknown' with an empty address is the reply of the recipient's mail filter"),
    rule("ses-unverified-identity", "norelaying", r"email address is not verified|identities failed the check",
         "Amazon SES 'Message rejected: Email address is not verified': SES does not relay for unverified senders"),
    rule("apple-icloud", "filtered", r"mailbox is disabled or unavailable",
         "iCloud: recipient mailbox unavailable"),
    rule("kddi-docomo-filter", "filtered", r"\bsuch user does not exist\b|ua_deny|ua_type_err|deny by mail ?magazine|rejected by (?:the )?(?:specified|designated) domain",
         "Japanese mobile carriers (au/KDDI, NTT docomo) recipient-set filters"),
    rule("orange-laposte-blocked", "blocked", r"ip source bloquee|client host blocked|service refuse|my name was rejected",
         "Orange/La Poste 'Adresse IP source bloquee', 'Service refuse' (OFR and LPN codes), qmail 'my name was rejected' (HELO)"),
    rule("orange-spam", "spamdetected", r"mail rejete|\bofr_506\b",
         "Orange 'Mail rejete. Mail rejected. OFR_506': the message was judged to be spam"),
    rule("ip-reputation", "badreputation", r"(?:ip|sender|domain) reputation|reputation of the sending|poor reputation|bad reputation",
         "reputation-based deferrals: Microsoft 4.7.650 'rate limited due to IP reputation' (S3113)"),
    rule("hourly-recipient-limit", "speeding", r"has sent to too many recipients|too many recipients this hour",
         "GoDaddy IB607 and similar per-hour recipient limits"),
    rule("frequency-limit", "toomanyconn", r"frequency limited|too many connections",
         "Tencent QQ 'Ip frequency limited' and connection-count limits"),
    rule("relay-needs-auth", "securityerror", r"turn on smtp authentication|relay through this server without authentication|unauthenticated senders? not allowed",
         "servers that require SMTP AUTH (MessageLabs, Postfix smtpd_sender_restrictions)"),
    rule("microsoft-recipient-access-denied", "userunknown", r"recipient address rejected: access denied",
         "Exchange Online/EOP '550 5.4.1 Recipient address rejected: Access denied' for addresses it does not host"),
    rule("mimecast-policy", "policyviolation", r"host network not allowed|anti-spoofing policy|content examination policy",
         "Mimecast '554 Host network not allowed', anti-spoofing and content examination policy rejects"),
    rule("mimecast-envelope-blocked", "rejected",
         r"administrative prohibition envelope blocked|envelope blocked . user (?:domain )?entry|block policy for (?:header from|envelope from address)|manually blocked senders",
         "Mimecast '550 Envelope blocked - User Entry' and blocked-senders policies: the recipient's side refuses the sender"),
    rule("content-security-risk", "policyviolation", r"content presents a potential|denied by policy|policy violation",
         "gateways that reject content as a security risk, and plain policy rejects"),
)

# Generic texts grouped by reason. Within each block, rules list the MTA or
# product whose wording they match.
GENERIC_RULES = (
    # The recipient's mailbox is full.
    rule("mailbox-full", "mailboxfull",
         r"mailbox (?:is )?full|mailbox (?:is )?over ?quota|over ?quota|quota (?:exceeded|exceeds|full|violation)|exceeded (?:storage|quota)|exceeds? (?:the )?(?:mailbox )?(?:storage|quota|size limit)|user has exceeded|mailbox (?:has )?exceeded|mailbox exceeds|maildir over quota|not enough (?:storage|disk) space in (?:the )?mailbox|mail ?box (?:size )?limit exceeded|insufficient (?:system )?storage for (?:the )?user|recipient'?s? mailbox is full|mailfolder is full|disk quota|storage (?:limit|quota) (?:exceeded|reached)|account is full|full mailbox|boite (?:aux lettres )?pleine|postfach (?:ist )?voll|casella (?:di posta )?piena|buz[oó]n lleno|caixa (?:postal )?cheia|user is over (?:the )?quota|too much mail data|mailbox size limit|the email account that you tried to reach is over quota",
         "full mailboxes: Postfix/Dovecot quota, Exchange, Gmail 4.2.2/5.2.2, French/German/Italian/Spanish/Portuguese wordings"),
    rule("mailbox-full-ja", "mailboxfull", r"容量.*(?:超え|オーバー|不足)|メールボックス.*(?:一杯|いっぱい)",
         "Japanese providers: mailbox over capacity"),

    # The message is too big for the recipient or the server.
    rule("message-too-big", "mesgtoobig",
         r"message (?:size )?(?:is )?(?:too (?:big|large)|exceeds (?:the )?(?:fixed |maximum )?(?:message )?size)|size (?:of message )?exceeds|message (?:length|size) (?:exceeds|is larger)|exceeds (?:the )?(?:maximum|max) (?:allowed )?(?:message )?size|mail size limit|message file too big|message too large|size limit exceeded|larger than (?:the )?(?:max|maximum) (?:allowed|message)|data size exceeded|maximum message size",
         "message size limits: Postfix 552 5.3.4, Exchange 5.3.4, Gmail 5.2.3"),

    # The message exceeded a per-recipient or per-message limit other than size.
    rule("too-many-recipients", "toomanyconn", r"too many recipients",
         "'552 Too many recipients' (NTT docomo and others): Sisimai counts it among connection and session limits"),
    rule("exceed-limit", "exceedlimit", r"exceeds? (?:the )?(?:maximum )?(?:number of )?(?:recipients|header size|line length)|recipient limit|message header size exceeds",
         "recipient-count and header-size limits"),

    # The sending rate is too high.
    rule("connection-rate", "toomanyconn", r"connection rate limit|too many connections|connection count (?:limit|exceeded)",
         "per-client connection limits (Postfix anvil: 'Connection rate limit exceeded')"),
    rule("rate-limit", "speeding",
         r"rate limit|ratelimit|sending rate|too many (?:messages|emails|mails) (?:sent|from)|(?:connection|message) rate|throttl|exceeded (?:the )?rate|try again later.*rate|too fast|slow down|(?:per|an?) (?:hour|minute) limit",
         "sending-rate limits phrased in any way"),
    rule("too-many-connections", "toomanyconn",
         r"too many (?:connections|concurrent|simultaneous|sessions|smtp sessions)|connection (?:count|limit) (?:exceeded|reached)|exceeded (?:the )?(?:maximum )?(?:number of )?connections|maximum (?:number of )?connections",
         "connection-count limits"),

    # The address moved and the server names the new one.
    rule("has-moved", "hasmoved", r"address has changed|has moved|user has moved|moved to a new address|no longer (?:at|with) this address|forwarding address|is no longer valid.*new address",
         "RFC 3463 5.1.6 'mailbox has moved'"),

    # The recipient address does not exist.
    rule("user-unknown", "userunknown",
         r"user ?unknown|unknown (?:local )?(?:user|recipient|mailbox|address|alias)|no such (?:user|recipient|mailbox|address|account|local user|person)|(?:user|recipient|mailbox|address|account|addressee) (?:does not|doesn't|did not|not|dose not) (?:exist|found|known)|(?:user|recipient|mailbox|address) (?:is )?(?:not |un)(?:known|found|listed|available)|(?:invalid|unknown|bad|non-?existent) (?:recipient|user|mailbox|address|account|destination (?:mail)?box)|recipient (?:address )?rejected: (?:user|undeliverable|unknown|invalid|no such|mailbox)|recipient address rejected: access denied|no mailbox (?:here|by that name|found)|mailbox (?:not found|unavailable|does not exist|not available)|(?:doesn't|does not) have an? (?:\w+ )*account|(?:not|isn't|is not) a (?:known|valid) (?:user|mailbox|recipient|address)|no (?:such )?(?:account|mailbox|user) (?:by that name|for)|(?:user|mailbox|account|recipient) (?:is )?(?:invalid|unavailable|deleted|removed)|recipient not found|requested action not taken: mailbox unavailable|unknown or illegal alias|this user doesn't have|the email account that you tried to reach does not exist|sorry, no mailbox|user not found|(?:user|name) is not recognized|user doesn't exist|destination address unknown|address (?:is )?(?:invalid|unknown|not valid)|recipient unknown|mailbox name not allowed|no valid recipients|(?:unknown|invalid) e-?mail address|utilisateur inconnu|adresse (?:inconnue|invalide)|benutzer unbekannt|unbekannter (?:benutzer|empf[äa]nger)|usuario (?:desconocido|no existe)|utente (?:sconosciuto|inesistente)|that domain isn't in my list of allowed rcpthosts|said: 550.*(?:unknown|invalid|not exist)",
         "unknown recipients: Postfix 'User unknown in local recipient table', Sendmail '... User unknown', qmail 'no mailbox here by that name', Exchange 'RecipientNotFound', French/German/Spanish/Italian wordings"),
    rule("user-unknown-ja", "userunknown", r"存在しない|宛先.*(?:不明|ありません)|ユーザ(?:ー)?.*(?:存在|見つかりません|不明)",
         "Japanese providers: recipient does not exist"),

    # The recipient's server refused the message for its content or sender by a filter.
    rule("filtered", "filtered",
         r"due to (?:the )?recipient'?s? (?:policy|preferences|filter)|filtered|rejected by (?:the )?(?:recipient|user)'?s? (?:filter|settings|preferences|policy)|blocked by (?:the )?(?:recipient|user)|recipient (?:has )?(?:refused|rejected|blocked)|refused by (?:the )?recipient|user refuses|does not accept mail from|sender (?:is )?(?:blocked|rejected) by (?:the )?recipient|not authorized to (?:send|email)|address (?:is )?not (?:accepting|available)|mail (?:receiving )?(?:disabled|refused)|message rejected by recipient|you are not allowed to post|the recipient has chosen|this recipient does not accept|mailbox (?:is )?(?:restricted|closed to)",
         "recipient-side filters and blocked senders"),

    rule("kddi-ezweb-rejected", "filtered", r"each of the following recipients was rejected by a remote mail server",
         "au/KDDI EZweb notices without a quoted reply: the recipient's domain or address filter refused the message"),

    # Sender, domain or content rejected for reasons the server states.
    rule("sender-rejected", "rejected",
         r"sender (?:address )?(?:rejected|refused|denied|unknown|verify failed|is not allowed)|sender (?:domain|address) (?:must )?(?:exist|resolve)|domain of sender address .* does not (?:exist|resolve)|(?:unknown|invalid|bad) sender|mail from (?:address )?(?:rejected|refused)|sender verification failed|address verification failed|return path .* (?:invalid|rejected)|rejected sender|envelope (?:sender|from) (?:address )?(?:rejected|invalid)|sender address rejected|sender.*domain not found|your (?:e-?mail )?address has been blacklisted|from address (?:rejected|is invalid)|empty envelope senders? (?:are )?not allowed|null sender",
         "envelope sender rejects: Postfix 'Sender address rejected', Exim 'sender verify failed'"),

    # The recipient domain publishes no mail service (RFC 7505 null MX, no MX).
    rule("no-mail-service", "notaccept", r"indicated no smtp service|no mx (?:record )?found for domain|couldn't find a mail exchanger|null mx|domain does not accept mail",
         "Exim 'an MX or SRV record indicated no SMTP service', OpenSMTPD 'No MX found for domain'"),

    # The recipient domain does not exist or has no mail servers.
    rule("host-unknown", "hostunknown",
         r"host (?:or domain name )?not found|host ?unknown|unknown host|domain (?:does not|doesn't) exist|domain (?:not found|unknown)|unknown domain|no such domain|(?:name|domain) (?:service|server) error|name or service not known|no mx (?:record|host)|mx (?:record )?(?:not found|lookup failed)|unrouteable (?:mail domain|address)|domain is not reachable|the account or domain may not exist|domain (?:is )?(?:invalid|not valid)|invalid domain|bad destination (?:mailbox )?domain|recipient (?:domain|address) (?:does not|doesn't) (?:exist|resolve)|all relevant mx records point to non-existent hosts|dns lookup failed|nxdomain|cannot (?:find|resolve) (?:the )?(?:host|domain)|domain name (?:required|not found)|undeliverable address: unknown host|illegal host/domain name found|recipient domain not found|the domain name .* (?:does not|doesn't) exist|could not resolve|no (?:valid )?mail exchanger",
         "unresolvable recipient domains: Postfix 'Host or domain name not found', Sendmail 'Host unknown', Exim 'Unrouteable address' and 'all relevant MX records point to non-existent hosts'"),

    # The message looked like spam to the receiving server.
    rule("spam-detected", "spamdetected",
         r"\bspam\b(?! ?(?:hau|cop|rats|haus))|unsolicited (?:mail|e-?mail|bulk|commercial)|junk mail|bulk mail (?:rejected|refused)|message (?:content )?(?:rejected|refused) (?:as|due to) (?:spam|content)|message content rejected|detected as (?:spam|junk)|content (?:filter|scan) (?:rejected|refused)|scored as|high spam score|spam score|\bu[bc]e\b|\bspamassassin\b|rejected due to (?:spam|content)|appears to be (?:spam|unsolicited)|looks like spam|message considered as spam|identified as spam|blacklisted (?:url|link)|\buribl\b|(?:rbl|dnsbl) (?:restriction)?",
         "spam verdicts from content filters, SpamAssassin, Gmail 5.7.1, URIBL listings of links in the message"),

    # A virus was found in the message.
    rule("virus-detected", "virusdetected", r"\bvirus|malware|infected|trojan|\bworm\b|malicious (?:content|attachment|software)",
         "antivirus rejects from gateways and MTAs"),

    # The receiving server refuses to relay.
    rule("no-relaying", "norelaying", r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed|authorized)|prohibited|refused)|(?:unable|not allowed|we do not) (?:to )?relay|not (?:a )?(?:gateway|local (?:recipient|domain))|no relaying|relay not permitted|cannot relay|open relay|unauthorized relay|is not permitted to relay|relaying denied|relay access denied|mail for .* not accepted here",
         "relay denied: Postfix 'Relay access denied', Sendmail 'Relaying denied'"),

    # The sending IP or domain is on a blocklist or otherwise blocked.
    rule("blocked", "blocked",
         r"blocked|block ?list|black ?list|\b(?:rbl|dnsbl|spamhaus|spamcop|sorbs|barracuda ?central|uceprotect|cbl|psbl|abuseat|mailspike|surbl|invaluement)\b|listed (?:at|on|in|by)|is listed|client host (?:\[[^\]]*\] )?(?:rejected|blocked)|connection (?:refused|rejected)|(?:ip|host|client|server|network|your ip) (?:address )?(?:is |was |has been )?(?:blocked|banned|rejected|refused|denied|not (?:allowed|permitted|authorized))|rejected because .* (?:ip|host)|poor reputation|bad reputation|reputation (?:of|is)|not accepting mail from|please use the smtp server of your isp|dynamic (?:ip|address|pool)|dial-?up|residential (?:ip|address)|\bdul\b|generic (?:hostname|reverse)|too many errors|connection rate|service not available, closing transmission channel|your (?:ip|server|host|network) .* (?:blocked|rejected|listed)|(?:mail|messages) from your (?:ip|host|server|network) (?:address )?(?:are|is) (?:not )?(?:accepted|rejected|refused|blocked)|refused to talk to me|sorry, your remotehost looks suspiciously like spammer|ip not in whitelist|hostname not in|go away|mail server temporarily rejected",
         "IP and domain blocks: RBL listings (Spamhaus, Spamcop, Barracuda), dynamic-IP rejects, 'Client host rejected'"),

    # The message is not RFC 5322 compliant.
    rule("not-compliant-rfc", "notcompliantrfc",
         r"not (?:rfc|rfc ?5322|rfc ?2822|rfc ?822)[- ]?compliant|(?:rfc|rfc ?5322|rfc ?2822) (?:compliance|violation|non-?compliant)|multiple (?:addresses|from|to|subject|date|message-id|sender) (?:in|headers?|fields?)|duplicate (?:header|from|to|subject|date|message-id)|(?:header|headers) (?:is |are )?(?:malformed|invalid|missing|too long)|missing (?:required )?(?:header|date|from|message-id|subject)|message contains (?:bare|invalid|8-?bit)|bare (?:lf|cr|linefeed)|line (?:is )?too long|contains invalid characters|not (?:properly )?(?:mime|rfc) (?:formatted|encoded)|this message is not rfc|the message you sent is not compliant|malformed (?:message|mime|header)",
         "messages that break RFC 5322 or MIME rules"),

    # Authentication of the sender (SPF, DKIM, DMARC) failed.
    rule("auth-failure", "authfailure",
         r"\bspf\b|\bdkim\b|\bdmarc\b|sender policy framework|domainkeys|authentication (?:check )?failed|failed (?:sender )?authentication|is not (?:allowed|authorized|permitted) to send (?:mail|email|on behalf)|not (?:designated|authorized) (?:as a |to )?(?:permitted )?sender|unauthenticated mail|(?:sender|domain) is not authenticated|must be authenticated",
         "SPF, DKIM and DMARC failures"),

    # The receiving server's policy forbids the message or sender.
    rule("policy-violation", "policyviolation",
         r"policy (?:violation|reasons|rejection|restriction)|violat(?:es|ed|ion of) (?:our |the |local )?(?:policy|policies|terms|acceptable use)|rejected (?:for|by|due to) (?:local )?(?:policy|policies)|(?:local|content|security|message|site|domain|organization|administrative) polic(?:y|ies)|prohibited|not allowed by (?:local )?policy|email (?:address|domain) is not allowed|message (?:not allowed|forbidden)|attachment(?:s)? (?:not allowed|blocked|prohibited|forbidden|rejected)|(?:file|attachment) type (?:not allowed|blocked|prohibited)|has been rejected by (?:the )?(?:email )?(?:policy|administrator)|suspicious (?:url|link|attachment)|dangerous (?:attachment|content)|executable (?:content|attachment)|header error",
         "site policies: attachment bans, acceptable-use violations, Exim and Gmail '554 5.7.0 Header error'"),

    # Content rejected for other reasons (encoding, structure).
    rule("content-error", "contenterror", r"content (?:error|not allowed)|(?:message|mail) content (?:is )?(?:invalid|unacceptable)|improper (?:use of )?8-?bit|invalid (?:mime|encoding|content|character set|charset)|charset .* not (?:supported|allowed)|message body",
         "content and encoding rejects"),

    # TLS or other transport security requirements failed.
    rule("failed-starttls", "failedstarttls", r"starttls|(?:does not|doesn't) support (?:tls|ssl)|tls (?:is )?(?:required|negotiation failed|handshake)|must issue a starttls|encryption (?:is )?required|requires? (?:a )?(?:secure|encrypted) (?:connection|channel)",
         "STARTTLS required or failed (Gmail 530 5.7.0 'Must issue a STARTTLS command first')"),
    rule("security-error", "securityerror", r"authentication (?:is )?required|auth(?:entication)? required|(?:relay|access) (?:denied|not permitted).*authenticat|certificate|5\.7\.0 .*must (?:authenticate|issue)|(?:sender|security|secure) (?:level|requirement)|user not authenticated|insecure|invalid (?:credentials|login)|authorization (?:required|failed)|security (?:policy|violation|error)|delivery not authorized",
         "authentication and security requirements of the receiving side"),

    # The receiving system is out of resources.
    rule("system-full", "systemfull", r"(?:insufficient|out of|no space|not enough) (?:system )?(?:storage|disk|space|memory)|disk (?:is )?full|mail system full|file system full|no space left on device|server (?:storage )?(?:is )?full|queue (?:is )?full",
         "the receiving system ran out of disk or memory"),

    # The domain accepts no mail at all.
    rule("not-accept", "notaccept", r"does not accept (?:any )?(?:e-?)?mail|not accept(?:ing)? (?:any )?(?:e-?)?mail|null mx|domain does not receive mail|accepts no mail|no mail (?:is )?accepted|this domain (?:does not|doesn't) (?:receive|accept)|mx points to|has no mx",
         "domains that accept no mail (RFC 7505 null MX)"),

    # The remote system failed or did not respond.
    rule("network-error", "networkerror", r"network (?:error|unreachable|is unreachable)|connection (?:reset|closed|dropped|lost|to .* failed)|no route to host|host (?:is )?(?:down|unreachable)|wasn't able to establish an smtp connection|(?:could not|couldn't|unable to|can'?t) connect|connect(?:ion)? failed|lost connection|broken pipe|too many hops|mail loop|loops back to myself|routing loop|hop count exceeded|message is looping|unable to route|could not be (?:delivered|routed) .* (?:network|dns)",
         "network failures, routing loops and timeouts"),
    rule("system-error", "systemerror", r"system (?:error|failure|not available|unavailable)|internal (?:server )?error|server (?:error|failure|misconfiguration)|local (?:error|problem)|(?:local|remote) (?:server|system) (?:error|problem|failure)|configuration error|mail system (?:problem|error)|resources temporarily unavailable|unexpected (?:error|failure)|input/output error|i/o error|database (?:error|failure)|transaction failed|service (?:is |currently )?(?:unavailable|not available)|unable to contact ldap|could not load|delivery to file .* failed|error in processing|unknown error",
         "failures inside the receiving system"),

    # The mail program that delivers locally failed.
    rule("mailer-error", "mailererror", r"mailer error|(?:pipe|program|command) (?:to .* )?(?:failed|died|error|returned)|x-unix;|exited with|(?:command|program) not found|procmail|unknown mailer|mail(?:er)? program|child process|error in pipe|\bsignal \d+\b|sh: .*(?:not found|permission denied)",
         "local delivery agents that failed: pipes, procmail, Sendmail 'X-Unix'"),

    # The message waited in the queue too long.
    rule("expired", "expired",
         r"message expired|envelope expired|retry timeout exceeded|retry time not reached for any host after a long failure|delivery (?:time|retry timeout) (?:expired|exceeded)|has been in the queue too long|message timed out|could not be delivered for (?:more than )?\d+|delivery failed \d+ attempts|(?:was )?aborted after \d|did not accept our requests to connect|giving up on|have been failing for a long time|unable to deliver (?:this )?message (?:after|in) \d+|not reachable within the allowed queue period|message will be retried|socket error|(?:connection |operation )?timed out|timeout|unable to connect|retry (?:time ?out|timeout|time exceeded|period exceeded)|(?:message|delivery|mail) (?:has )?expired|expired|queue(?:d)? too long|too long in (?:the )?queue|(?:could not|couldn't|was not|has not been|cannot be) (?:be )?delivered (?:within|for|in) \d+|(?:giving|gave) up|delivery time ?out|time ?out|maximum (?:delivery|retry|queue) time|message (?:could not be|has not been) delivered for (?:more than )?\d+|has been delayed|retry limit|no more retries|lifetime exceeded|delivery attempts? (?:will )?(?:continue|exhausted)|undeliverable for|not delivered .* (?:days|hours)|(?:unable to|could not) deliver .* for (?:\d+|several) (?:days|hours)|host not reachable",
         "queue lifetime exceeded: Postfix 'delivery temporarily suspended' expiries, Sendmail 'Cannot send message for 5 days', Exim 'retry timeout exceeded', Zoho 'Host not reachable' after its retries"),

    # Suppressed by the sending service's own list.
    rule("suppressed", "suppressed", r"suppress(?:ed|ion) list|on (?:the )?(?:account-level )?suppression|recipient is on the suppression|previously (?:bounced|hard bounced|unsubscribed)|address is on (?:our|the) (?:bounce|block) list",
         "ESP suppression lists (Amazon SES, SendGrid)"),

    # The recipient address or a command was not syntactically valid.
    rule("syntax-error", "syntaxerror", r"syntax error|(?:command|parameter) (?:not (?:recognized|implemented)|unrecognized)|bad sequence of commands|invalid (?:command|argument|parameter|syntax)|unrecognized command|line too long|address syntax|malformed (?:command|address)",
         "SMTP command and address syntax errors (RFC 5321 500/501/503)"),
)

RULES = PROVIDER_RULES + GENERIC_RULES

# Reasons for RFC 3463 enhanced status codes, used when no text rule matches.
# Codes are looked up exactly first, then by class.subject with the detail
# left out (`5.1`), so the most specific entry wins.
STATUS_REASONS = {
    # Exact codes whose meaning differs between the temporary and the permanent class.
    "4.4.1": "expired",
    "4.4.2": "expired",
    "5.4.1": "rejected",
    "4.7.0": "blocked",
    "x.1.0": "userunknown",
    "x.1.1": "userunknown",
    "x.1.2": "hostunknown",
    "x.1.3": "userunknown",
    "x.1.4": "userunknown",
    "x.1.5": "userunknown",
    "x.1.6": "hasmoved",
    "x.1.7": "rejected",
    "x.1.8": "rejected",
    "x.1.9": "systemerror",
    "x.1.10": "notaccept",
    "x.2.0": "filtered",
    "x.2.1": "suspend",
    "x.2.2": "mailboxfull",
    "x.2.3": "exceedlimit",
    "x.2.4": "systemerror",
    "x.3.0": "systemerror",
    "x.3.1": "systemfull",
    "x.3.2": "notaccept",
    "x.3.3": "systemerror",
    "x.3.4": "mesgtoobig",
    "x.3.5": "systemerror",
    "x.4.0": "networkerror",
    "x.4.1": "blocked",
    "x.4.2": "networkerror",
    "x.4.3": "systemerror",
    "x.4.4": "hostunknown",
    "x.4.5": "networkerror",
    "x.4.6": "networkerror",
    "x.4.7": "expired",
    "x.4.8": "networkerror",
    "x.5.0": "syntaxerror",
    "x.5.1": "syntaxerror",
    "x.5.2": "syntaxerror",
    "x.5.3": "exceedlimit",
    "x.5.4": "syntaxerror",
    "x.5.5": "syntaxerror",
    "x.5.6": "syntaxerror",
    "x.6.0": "contenterror",
    "x.6.1": "contenterror",
    "x.6.2": "contenterror",
    "x.6.3": "contenterror",
    "x.6.4": "contenterror",
    "x.6.5": "contenterror",
    "x.7.0": "securityerror",
    "x.7.1": "securityerror",
    "x.7.2": "securityerror",
    "x.7.3": "securityerror",
    "x.7.4": "securityerror",
    "x.7.5": "securityerror",
    "x.7.6": "securityerror",
    "x.7.7": "securityerror",
    "x.7.8": "securityerror",
    "x.7.9": "securityerror",
    "x.7.10": "securityerror",
    "x.7.11": "securityerror",
    "x.7.12": "securityerror",
    "x.7.13": "suspend",
    "x.7.14": "securityerror",
    "x.7.15": "securityerror",
    "x.7.16": "securityerror",
    "x.7.17": "hasmoved",
    "x.7.18": "suspend",
    "x.7.19": "securityerror",
    "x.7.20": "authfailure",
    "x.7.21": "authfailure",
    "x.7.22": "authfailure",
    "x.7.23": "authfailure",
    "x.7.24": "authfailure",
    "x.7.25": "requireptr",
    "x.7.26": "authfailure",
    "x.7.27": "notaccept",
    "x.7.28": "badreputation",
    "x.7.29": "authfailure",
    "x.7.30": "authfailure",
}

# Statements in a notice's own text that give the cause for every recipient
# it lists, outranking the replies quoted per recipient. For example, au/KDDI
# EZweb notices state "The user(s) account is disabled." above a quoted
# "550 user unknown".
NOTICE_RULES = (
    rule("ezweb-account-disabled", "suspend", r"the user\(s\) account is disabled",
         "au/KDDI EZweb notices: 'The user(s) account is disabled.' above the quoted reply"),
)

RULES_BY_NAME = {item.name: item for item in RULES + NOTICE_RULES}

# Reasons for failed recipients in domains whose bounces carry no usable
# text: Google Groups refuses posts in the poster's language.
RECIPIENT_DOMAIN_REASONS = {
    "googlegroups.com": "rejected",
}

# Codes that carry no information beyond their class: the text decides.
GENERIC_STATUS_SUFFIXES = frozenset({".0.0", ".1.0", ".2.0", ".3.0", ".4.0", ".5.0", ".6.0", ".7.0", ".7.1"})
