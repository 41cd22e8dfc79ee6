"""The NSI_* settings: one model, validated once, a wrong value named in one line; the docs list them all."""

import pytest
from conftest import REPO, run_nsi

from nsi import settings


def test_defaults_work_without_configuration():
    s = settings.load({})
    assert s.data_dir.as_posix() == "data" and s.pii_key is None and s.recipients is None
    assert (s.lock_wait_seconds, s.smtp_host, s.smtp_port, s.smtp_starttls) == (1800.0, None, 587, True)


@pytest.mark.parametrize("env, message", [
    ({"NSI_SMTP_PORT": "abc"}, "NSI_SMTP_PORT='abc' is not a number"),
    ({"NSI_SMTP_PORT": "0"}, "NSI_SMTP_PORT='0' is out of range (at least 1)"),
    ({"NSI_LOCK_WAIT_SECONDS": "-5"}, "NSI_LOCK_WAIT_SECONDS='-5' is out of range (at least 0)"),
    ({"NSI_SMTP_STARTTLS": "maybe"}, "NSI_SMTP_STARTTLS='maybe': use 1 or 0"),
    ({"NSI_SMTP_ATTEMPTS": "1.5"}, "NSI_SMTP_ATTEMPTS='1.5' is not a number"),
])
def test_a_wrong_value_is_named(env, message):
    with pytest.raises(settings.SettingsError) as error:
        settings.load(env)
    assert str(error.value) == message


def test_values_are_typed_and_empty_means_unset():
    s = settings.load({"NSI_SMTP_PORT": " 25 ", "NSI_SMTP_STARTTLS": "0", "NSI_SMTP_HOST": "", "NSI_PII_KEY": "s3cr3t-key",
                       "NSI_UNRELATED": "x", "OTHER": "y"})
    assert (s.smtp_port, s.smtp_starttls, s.smtp_host) == (25, False, None)
    assert s.pii_key.get_secret_value() == "s3cr3t-key" and "s3cr3t" not in repr(s)
    assert settings.load({"NSI_SMTP_STARTTLS": "no"}).smtp_starttls is False


def test_blank_values_are_unset_and_secrets_keep_their_spaces_in_the_process_environment(monkeypatch):
    for name, value in {"NSI_DATA_DIR": "  ", "NSI_SMTP_PORT": " ", "NSI_SMTP_CA_FILE": " ", "NSI_SMTP_STARTTLS": "",
                        "NSI_PII_KEY": " key with spaces ", "NSI_RECIPIENTS": " off "}.items():
        monkeypatch.setenv(name, value)
    s = settings.load()
    assert (s.data_dir.as_posix(), s.smtp_port, s.smtp_ca_file, s.smtp_starttls) == ("data", 587, None, True)
    assert s.pii_key.get_secret_value() == " key with spaces " and s.recipients == "off"
    given = settings.load({"NSI_PII_KEY": " k ", "NSI_SMTP_HOST": "  "})
    assert given.pii_key.get_secret_value() == " k " and given.smtp_host is None and given.recipients is None


def test_the_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("NSI_LOCK_WAIT_SECONDS", "7")
    assert settings.load().lock_wait_seconds == 7.0
    monkeypatch.setenv("NSI_LOCK_WAIT_SECONDS", "soon")
    with pytest.raises(settings.SettingsError, match="NSI_LOCK_WAIT_SECONDS='soon' is not a number"):
        settings.load()


@pytest.mark.parametrize("command", [["run", "2024-03"], ["sample", "--from", "2024-01"], ["verify", "2024-03"],
                                     ["deliver", "2024-03", "--dry-run"]])
def test_commands_stop_with_one_line_on_a_wrong_setting(tmp_path, command):
    result = run_nsi(command, tmp_path, check=False, env_extra={"NSI_SMTP_PORT": "abc"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"nsi {command[0]}: error: NSI_SMTP_PORT='abc' is not a number"]
    assert not (tmp_path / "raw").exists() and not (tmp_path / "warehouse").exists()


def test_the_operations_doc_lists_every_setting():
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    for name, default, meaning in settings.table():
        row = f"| `{name}` | {f'`{default}`' if default else '—'} | {meaning} |"
        assert row in text, row


@pytest.mark.parametrize("env, language", [
    ({}, "zh"), ({"LANG": "C.UTF-8"}, "zh"), ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"), ({"LC_ALL": "", "LC_MESSAGES": "zh_CN", "LANG": "en_US"}, "zh"),
    ({"LC_MESSAGES": "en_US.UTF-8"}, "en"), ({"LANG": "en_US.UTF-8", "NSI_LANG": "zh"}, "zh"), ({"NSI_LANG": " en "}, "en"),
    ({"NSI_LANG": "fr", "LANG": "en_US.UTF-8"}, "en"), ({"NSI_LANG": "fr"}, "zh"),
])
def test_the_language_is_nsi_lang_else_the_locale_else_chinese(env, language):
    assert settings.language(env) == language


def test_a_wrong_language_is_named():
    with pytest.raises(settings.SettingsError) as error:
        settings.load({"NSI_LANG": "fr"})
    assert str(error.value) == "NSI_LANG='fr': use one of zh, en"
    assert settings.load({"NSI_LANG": "en"}).lang == "en" and settings.load({}).lang is None
