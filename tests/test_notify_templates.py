import pytest

from inboxwatch.config.channels import EmailChannelSettings, SlackChannelSettings, WebhookChannelSettings
from inboxwatch.errors import ChannelError, ConfigError
from inboxwatch.notify.email import EmailChannel
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.rendering import MessageTemplates

from notify_support import PAYLOAD, START, FakeClock

GROUP_PAYLOAD = {
    "summary": "1 firing, 1 resolved: Microsoft bounce rate 12.5% over 10%",
    "group_key": "group-7",
    "group_labels": {"rule": "provider_bounce_rate"},
    "alerts": [
        dict(PAYLOAD, alert_id=1),
        dict(PAYLOAD, alert_id=2, state="resolved", labels={"provider": "gmail"}, summary="Gmail bounce rate back to 2%"),
    ],
}


def make_notification(payload=PAYLOAD, reason: str = "firing") -> Notification:
    return Notification(channel="t", reason=reason, idempotency_key="tpl-k1", payload=payload, created_at=START)


def webhook_settings(**values) -> WebhookChannelSettings:
    return WebhookChannelSettings(name="t", url="http://127.0.0.1:1/hook", **values)


def email_settings(**values) -> EmailChannelSettings:
    return EmailChannelSettings(name="t", host="127.0.0.1", from_address="a@example.com", to=["b@example.com"], **values)


def test_templates_default_subject_matches_builtin_subject():
    message = MessageTemplates("webhook", webhook_settings()).render(make_notification())
    assert message.subject == make_notification().subject()


def test_templates_inline_subject_and_body():
    settings = webhook_settings(
        subject_template="{{ severity|upper }}: {{ alert.rule }}",
        body_template="{% for a in alerts %}{{ a.labels.provider }} {{ a.value|figure }}\n{% endfor %}",
    )
    message = MessageTemplates("webhook", settings).render(make_notification())
    assert message.subject == "CRITICAL: provider_bounce_rate"
    assert message.body == "microsoft 0.125\n"


def test_templates_group_payload_lists_each_alert():
    message = MessageTemplates("email", email_settings()).render(make_notification(GROUP_PAYLOAD))
    assert message.subject == "[FIRING critical] 1 firing, 1 resolved: Microsoft bounce rate 12.5% over 10%"
    assert "- Microsoft bounce rate 12.5% over 10% (firing)" in message.body
    assert "- Gmail bounce rate back to 2% (resolved)" in message.body


def test_templates_template_dir_overrides_builtin(tmp_path):
    (tmp_path / "slack.body.txt").write_text("custom body for {{ alert.rule }}")
    settings = SlackChannelSettings(name="t", url="http://127.0.0.1:1/x", template_dir=tmp_path)
    message = MessageTemplates("slack", settings).render(make_notification())
    assert message.body == "custom body for provider_bounce_rate\n"
    # The subject still comes from the built-in default.
    assert message.subject.startswith("[FIRING critical]")


def test_templates_html_autoescaped_text_not():
    payload = dict(PAYLOAD, summary="<script>alert(1)</script> & more")
    templates = MessageTemplates("email", email_settings(), with_html=True)
    message = templates.render(make_notification(payload))
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<script>alert(1)</script> & more" in message.subject


def test_templates_sandbox_blocks_attribute_escape():
    settings = webhook_settings(body_template="{{ alert.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ChannelError) as caught:
        MessageTemplates("webhook", settings).render(make_notification())
    assert not caught.value.retryable
    assert "SecurityError" in str(caught.value)


def test_templates_syntax_error_is_config_error():
    with pytest.raises(ConfigError, match="syntax error"):
        MessageTemplates("webhook", webhook_settings(subject_template="{{ unclosed"))


def test_templates_alert_url_from_external_url():
    settings = webhook_settings(external_url="https://iw.example.com/", body_template="{{ alert_url }}")
    message = MessageTemplates("webhook", settings).render(make_notification(dict(PAYLOAD, alert_id=9)))
    assert message.body == "https://iw.example.com/api/v1/alerts/9\n"


def test_templates_email_message_uses_templates():
    settings = email_settings(subject_template="Alert {{ alert.rule }}")
    message = EmailChannel(settings, None, FakeClock()).build_message(make_notification())
    assert message["Subject"] == "Alert provider_bounce_rate"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<table" in html


def test_templates_missing_template_dir_rejected(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        webhook_settings(template_dir=tmp_path / "missing")
