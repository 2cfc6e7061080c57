"""The configuration file: one TOML file, validated on load into frozen objects."""

from inboxwatch.config.loader import DEFAULT_CONFIG_NAME, default_config, load_config
from inboxwatch.config.models import Config, RouteSettings, RuleSettings

__all__ = ["DEFAULT_CONFIG_NAME", "Config", "RouteSettings", "RuleSettings", "default_config", "load_config"]
