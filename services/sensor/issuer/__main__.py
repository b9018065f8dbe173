import sys

from weft.sensor.issuer.server import main

sys.exit(main())
