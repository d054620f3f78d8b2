"""Looking inside an uploaded distribution: archive safety, layout and core metadata.

Everything here works on file objects in bounded memory and reports every problem
it finds as a sentence for a person; nothing here knows where the bytes live.
"""
