from bot.settings import Settings, normalise_database_url


def test_database_urls_map_to_async_drivers() -> None:
    assert normalise_database_url("sqlite:///./x.db") == "sqlite+aiosqlite:///./x.db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_channels_are_on_only_with_credentials() -> None:
    bare = Settings(_env_file=None)
    assert not bare.telegram_enabled and not bare.sms_enabled and not bare.telegram_webhook_enabled
    full = Settings(
        _env_file=None,
        telegram_bot_token="1:abc",
        telegram_webhook_secret="s",
        public_base_url="https://fg.example",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from_number="+46700000000",
    )
    assert full.telegram_enabled and full.telegram_webhook_enabled and full.sms_enabled
    assert "1:abc" not in repr(full)  # secrets are not printed
