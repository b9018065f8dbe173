from weft.common import migrations_env

migrations_env.run()
