from weft.common.migrations_env import run

run()
