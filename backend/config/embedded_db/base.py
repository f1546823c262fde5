"""The PostgreSQL backend, starting the embedded server (config.embedded_db) on first connection."""

from typing import Any

import psycopg
from django.db.backends.postgresql import base, client

from config.embedded_db import bin_dir, server


class DatabaseClient(client.DatabaseClient):
    """`manage.py dbshell` with the wheel's own psql: the machine need not have one."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        args, env = super().settings_to_cmd_args_env(settings_dict, parameters)
        return [str(bin_dir() / "psql"), *args[1:]], env


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient
    embedded = True

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        embedded = self.settings_dict["EMBEDDED"]
        handle = server(embedded["DATA_DIR"], embedded["SERVER_OPTIONS"])
        handle.join()
        handle.ensure_database(conn_params.get("dbname") or "postgres")
        try:
            return super().get_new_connection(conn_params)
        except psycopg.OperationalError:  # killed under us: start it again, once
            handle.revive()
            return super().get_new_connection(conn_params)
