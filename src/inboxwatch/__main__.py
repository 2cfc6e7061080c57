from inboxwatch.cli.main import main

main()
