import sys

from service.server.cli.main import main

sys.exit(main())
