from pianold.cli import main

if __name__ == "__main__":  # query workers are spawned processes that import this module again
    main()
