"""Bounce classification: texts and codes to reasons, hard or soft."""

from __future__ import annotations

import pytest

from inboxwatch.classify.bounce import classify, find_enhanced_status, normalize_text
from inboxwatch.classify.bounce_patterns import RULES

# (id, SMTP reply code, enhanced status, text, expected reason, expected hard)
CASES = [
    ("postfix-user-unknown", 550, "5.1.1", "550 5.1.1 <a@b.test>: Recipient address rejected: User unknown in local recipient table", "userunknown", True),
    ("text-outranks-code", 550, "5.2.1", "550 5.2.1 The email account that you tried to reach does not exist", "userunknown", True),
    ("user-unknown-4xx-still-hard", 450, "4.1.1", "450 4.1.1 <a@b.test>: Recipient address rejected: User unknown", "userunknown", True),
    ("qmail-no-mailbox", None, None, "550 sorry, no mailbox here by that name. (#5.1.1)", "userunknown", True),
    ("french-unknown-user", 550, "5.1.1", "550 5.1.1 utilisateur inconnu", "userunknown", True),
    ("host-unknown", None, "5.4.4", "Host or domain name not found. Name service error for name=nx.test type=A: Host not found", "hostunknown", True),
    ("dns-try-again", None, "4.4.3", "Name service error for domain nx.test: Host not found, try again", "networkerror", False),
    ("has-moved-551", 551, "5.1.6", "551 5.1.6 User has moved; please try <new@b.test>", "hasmoved", True),
    ("null-mx", None, None, "an MX or SRV record indicated no SMTP service", "notaccept", True),
    ("mailbox-full-english", 552, "5.2.2", "552 5.2.2 Mailbox full", "mailboxfull", False),
    ("mailbox-full-german", 552, None, "552 Postfach ist voll", "mailboxfull", False),
    ("mailbox-full-gmail", 452, "4.2.2", "452-4.2.2 The email account that you tried to reach is over quota", "mailboxfull", False),
    ("microsoft-s3150", 550, "5.7.1", "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. (S3150)", "blocked", False),
    ("microsoft-5.7.515", 550, "5.7.515", "550 5.7.515 Access denied, sending domain example.test does not meet the required authentication level", "authfailure", False),
    ("gmail-4.7.28", 421, "4.7.28", "421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address", "badreputation", False),
    ("gmail-5.7.26", 550, "5.7.26", "550-5.7.26 Unauthenticated email from example.test is not accepted due to domain's DMARC policy", "authfailure", False),
    ("gmail-spam", 550, "5.7.1", "550-5.7.1 Our system has detected that this message is likely unsolicited mail", "spamdetected", False),
    ("gmail-rate-as-user-error", 450, "4.2.1", "450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered", "speeding", False),
    ("yahoo-tss04", 421, "4.7.0", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints", "badreputation", False),
    ("yahoo-no-account", 554, None, "554 delivery error: dd This user doesn't have a yahoo.test account (a@yahoo.test) [0]", "userunknown", True),
    ("orange-code-416", 550, "5.5.0", "550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416", "userunknown", True),
    ("orange-code-505", 421, "4.2.0", "421 4.2.0 Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR005_505 [505]", "systemerror", False),
    ("orange-code-630", 554, "5.7.1", "554 5.7.1 <mx.test[192.0.2.1]:49309>: Client host rejected: #216 lpn LPN000_630", "policyviolation", False),
    ("orange-code-without-cause", 421, "4.2.1", "421 4.2.1 Service refuse. Veuillez essayer plus tard. LPN006_107", "blocked", False),
    ("spectrum-aup-code", 550, "5.1.0", "550 5.1.0 <a@b.test> sender rejected. AUP#In-1540", "toomanyconn", False),
    ("spectrum-aup-range", 550, None, "550 Your IP is listed. AUP#O-1210", "blocked", False),
    ("interscan-check-address", None, None, "Unable to deliver message to <a@b.test> (and other recipients in the same domain). Please check if address is correct.", "userunknown", True),
    ("imail-unknown-user", None, None, "Unknown user: a@b.test", "userunknown", True),
    ("messagelabs-recipient-rejected", 542, None, "542 a@b.test Rejected", "userunknown", True),
    ("header-error-policy", 554, "5.7.0", "554 5.7.0 Header error", "policyviolation", False),
    ("account-or-domain-may-not-exist", None, None, "The mail server could not deliver mail to a@b.test. The account or domain may not exist, they may be blacklisted, or missing the proper dns entries.", "hostunknown", True),
    ("host-not-reachable-after-retries", 421, None, "ERROR_CODE :421, ERROR_CODE :, Host not reachable.", "expired", False),
    ("uribl-listed-link", 550, None, "550-REJECTED - Blacklisted URL in message. (example.test) in [black]. See http://lookup.uribl.com.", "spamdetected", False),
    ("qmail-no-smtp-connection", None, "4.4.1", "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; this message has been in the queue too long.", "networkerror", False),
    ("delivery-not-authorized", 551, "5.7.1", "551 5.7.1 <a@b.test>: Recipient address rejected: Delivery not authorized", "securityerror", False),
    ("mimecast-network-not-allowed", 554, None, "554 Host network not allowed - https://community.mimecast.test/docs", "policyviolation", False),
    ("mimecast-envelope-blocked", 550, None, "550 Envelope blocked - User Entry", "rejected", False),
    ("too-many-recipients", 552, None, "552 Too many recipients", "toomanyconn", False),
    ("spamhaus-listing", 554, "5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked", False),
    ("ptr-missing", 550, "5.7.25", "550-5.7.25 The IP address sending this message does not have a PTR record setup", "requireptr", False),
    ("relay-denied", 554, "5.7.1", "554 5.7.1 <a@b.test>: Relay access denied", "norelaying", False),
    ("sender-rejected", 501, "5.1.8", "501 5.1.8 Sender address rejected", "rejected", False),
    ("exim-retry-timeout", None, None, "retry timeout exceeded", "expired", False),
    ("message-too-big", 552, "5.3.4", "552 5.3.4 Message size exceeds fixed limit", "mesgtoobig", False),
    ("size-as-limit-5.2.3", 552, "5.2.3", "552 5.2.3 Message length exceeds administrative limit", "exceedlimit", False),
    ("disabled-account", 550, "5.2.1", "550 5.2.1 The email account that you tried to reach is disabled", "suspend", False),
    ("virus", 554, "5.7.1", "554 5.7.1 Rejected: message contains a virus (Eicar-Test-Signature)", "virusdetected", False),
    ("starttls-required", 530, "5.7.0", "530 5.7.0 Must issue a STARTTLS command first", "failedstarttls", False),
    ("kddi-filter", 550, None, "550 : User unknown", "filtered", False),
    ("status-only", None, "5.1.2", None, "hostunknown", True),
    ("success-dsn", 250, "2.0.0", "250 2.0.0 OK queued", "delivered", False),
    ("generic-code-no-text", 550, "5.0.0", None, "onhold", False),
    ("mailing-list-non-member", None, None, "You are not a member of this mailing list <list@sender.test>.", "rejected", False),
    ("exchange-2003", None, None, "The recipient name is not recognized (000C05A6) Unknown Recipient", "userunknown", True),
    ("unmatched-text", None, None, "something odd happened", "undefined", False),
]


@pytest.mark.parametrize(
    "smtp_code, status, text, reason, hard",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_classify_reason_and_hard(smtp_code, status, text, reason, hard):
    result = classify(smtp_code, status, text)
    assert result.reason == reason
    assert result.hard is hard


def test_classify_records_rule_and_match():
    result = classify(550, "5.1.1", "550 5.1.1 No such user here")
    assert result.rule == "user-unknown"
    assert result.matched == "no such user"


def test_classify_user_unknown_after_mail_from_is_rejected():
    result = classify(550, None, "550 Unknown user sender@sender.test", command="MAIL")
    assert result.reason == "rejected"
    assert result.hard is False


def test_classify_user_unknown_after_data_is_filtered():
    result = classify(550, None, "550 User unknown", command="DATA")
    assert result.reason == "filtered"


def test_classify_user_unknown_without_context_is_filtered():
    assert classify(550, None, "550 Unknown user someone@receiver.test").reason == "filtered"


def test_classify_user_unknown_after_rcpt_stays_user_unknown():
    result = classify(550, None, "550 Unknown user someone@receiver.test", command="RCPT")
    assert result.reason == "userunknown"
    assert result.hard is True


def test_classify_delayed_action_without_text_is_expired():
    assert classify(None, None, None, action="delayed").reason == "expired"


def test_classify_delayed_action_outranks_status():
    assert classify(None, "4.4.0", None, action="delayed").reason == "expired"


def test_classify_code_only_reply_to_mail_is_rejected():
    result = classify(550, "5.7.1", "550 5.7.1 Access denied", command="MAIL")
    assert result.reason == "rejected"
    assert result.rule == "status 5.7.1 after MAIL"


def test_classify_mailbox_unavailable_needs_rcpt():
    text = "550 Requested action not taken: mailbox unavailable"
    assert classify(550, None, text).reason == "filtered"
    assert classify(550, None, text, command="RCPT").reason == "userunknown"


def test_classify_provider_code_names_table():
    result = classify(550, None, "550 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]")
    assert result.reason == "mailboxfull"
    assert result.rule == "orange-laposte-codes"
    assert result.matched == "ofr_417"


def test_classify_notaccept_temporary_is_soft():
    assert classify(421, "4.3.2", "no mx found for domain").hard is False


def test_find_enhanced_status_ignores_longer_numbers():
    assert find_enhanced_status("see 4.16.55.1 and 550 5.7.1 denied") == "5.7.1"


def test_normalize_text_joins_multiline_reply():
    text = "550-5.7.1 Messages with multiple\n550 5.7.1 addresses in From: header are not accepted"
    assert "multiple addresses in from" in normalize_text(text)


def test_rules_have_unique_names_and_covers():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.covers for rule in RULES)
